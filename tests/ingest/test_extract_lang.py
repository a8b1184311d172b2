"""Language: markup first, detection when markup is missing or clearly contradicted."""

from __future__ import annotations

import pytest

from ingest.extract.candidates import Candidate
from ingest.extract.lang import choose_language, normalize_language

ENGLISH = (
    "The council approved the new budget on Tuesday after a long debate about schools, "
    "roads and the future of the public library, which has been closed since the spring. "
) * 4
GERMAN = (
    "Der Stadtrat hat am Dienstag nach einer langen Debatte über Schulen, Straßen und die "
    "Zukunft der Stadtbibliothek den neuen Haushalt beschlossen, die seit dem Frühjahr "
    "geschlossen ist. "
) * 4


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en-US", "en"),
        ("en_GB", "en"),
        ("DE", "de"),
        ("pt-BR", "pt"),
        ("zh-Hans-CN", "zh"),
        ("deu", "de"),
        ("iw", "he"),
        ("x-default", None),
        ("", None),
        ("und", None),
        ("english", None),
        (None, None),
    ],
)
def test_normalize_language(tag: str | None, code: str | None) -> None:
    assert normalize_language(tag) == code


def markup(value: str) -> list[Candidate[str]]:
    return [Candidate(value, "meta", "html lang")]


@pytest.mark.parametrize(
    ("declared", "text", "feed", "code", "source"),
    [
        pytest.param(markup("en-US"), ENGLISH, None, "en", "meta", id="markup-agrees"),
        pytest.param(markup("en"), GERMAN, None, "de", "detected", id="long-body-overrules"),
        pytest.param(
            markup("en"),
            "Der Stadtrat hat beschlossen.",
            None,
            "en",
            "meta",
            id="short-body-keeps-markup",
        ),
        pytest.param([], GERMAN, "en", "de", "detected", id="detected-without-markup"),
        pytest.param([], "ok", "fr-FR", "fr", "feed", id="feed-when-nothing-else"),
        pytest.param([], "ok", None, None, None, id="unknown"),
    ],
)
def test_choose_language(
    declared: list[Candidate[str]],
    text: str,
    feed: str | None,
    code: str | None,
    source: str | None,
) -> None:
    chosen = choose_language(declared, text, feed)
    assert (chosen.value if chosen else None) == code
    assert (chosen.source if chosen else None) == source
