"""Whole pages through ``extract_article``: each ``tests/data/pages/<case>.html`` has a
``<case>.json`` beside it holding the exact fields a careful reader would copy.

Expectation keys: url (required), content_type, title, authors, published_at / updated_at
(ISO, "Z"), published_raw, language, description, image_url, tags, site_name, canonical_url,
sources (a subset of ``Article.sources``), and either ``text`` (exact) or any of
``text_startswith`` / ``text_endswith`` / ``text_contains`` / ``text_excludes``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.extract import extract_article
from ingest.model import Article

PAGES = Path(__file__).parent.parent / "data" / "pages"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
FIELDS = (
    "title", "authors", "language", "description", "image_url", "tags", "site_name",
    "canonical_url", "published_raw",
)  # fmt: skip
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _mismatches(article: Article, expected: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for name in FIELDS:
        if name in expected and getattr(article, name) != expected[name]:
            problems.append(f"{name}: got {getattr(article, name)!r}, want {expected[name]!r}")
    for name in ("published_at", "updated_at"):
        if name in expected and _iso(getattr(article, name)) != expected[name]:
            got = _iso(getattr(article, name))
            problems.append(f"{name}: got {got!r}, want {expected[name]!r}")
    for name, source in expected.get("sources", {}).items():
        if article.sources.get(name) != source:
            problems.append(f"sources[{name}]: got {article.sources.get(name)!r}, want {source!r}")
    text = article.text
    if "text" in expected and text != expected["text"]:
        problems.append(f"text: got {text!r}")
    for start in expected.get("text_startswith", []):
        if not text.startswith(start):
            problems.append(f"text does not start with {start!r}: {text[:120]!r}")
    for end in expected.get("text_endswith", []):
        if not text.endswith(end):
            problems.append(f"text does not end with {end!r}: {text[-120:]!r}")
    for part in expected.get("text_contains", []):
        if part not in text:
            problems.append(f"text lacks {part!r}")
    for part in expected.get("text_excludes", []):
        if part in text:
            problems.append(f"text holds boilerplate {part!r}")
    if CONTROL.search(text) or re.search(r"</?[a-z]+[ >/]", text):
        problems.append("text holds control characters or markup")
    return problems


def _cases() -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in sorted(PAGES.glob("*.html"))]


@pytest.mark.parametrize("page", _cases())
def test_page_extracts_expected_fields(page: Path) -> None:
    expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    article = extract_article(
        page.read_bytes(), expected["url"], content_type=expected.get("content_type"), now=NOW
    )
    problems = _mismatches(article, expected)
    assert not problems, "\n".join(problems)


def test_every_page_has_its_expectations() -> None:
    pages = {path.stem for path in PAGES.glob("*.html")}
    expectations = {path.stem for path in PAGES.glob("*.json")}
    assert pages == expectations
    assert len(pages) >= 10
