"""Run newsflow's parse layer over feedparser's conformance corpus: no crash, and the pass rate
of the corpus's own expectations for the fields newsflow stores.

    .venv/bin/python benchmarks/feedparser_corpus.py                  # ../shared/corpora/feedparser
    .venv/bin/python benchmarks/feedparser_corpus.py --failures 20    # also show 20 failed checks
    .venv/bin/python benchmarks/feedparser_corpus.py --field title    # only that field's failures

Each of the 2,106 ``tests/**/*.xml`` cases carries an ``Expect:`` Python expression over
feedparser's result (FORMAT.md in the corpus). Every file goes through ``parse_feed`` as bytes,
with the case's ``Header:`` lines as response headers and its upstream test URL as the feed URL.
A ``ParseError`` is a clean refusal; any other exception is a crash.

Scoring: each ``Expect`` is split into its ``and`` terms; a term is scored when it compares a
field newsflow stores with a value (``==``, ``is None``, ``len(entries) == n``), everything
else (bozo, encoding, itunes, source, rights, links lists, e-mail addresses...) is not. The
expected value is mapped onto what newsflow keeps, as :data:`FIELDS` says: titles and texts
are compared as plain text with whitespace collapsed (newsflow stores titles as text, and
article text from summaries and content), authors as names without e-mail addresses, dates
as UTC datetimes, languages lower-cased. A file newsflow refuses fails every scored term.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html

from ingest.errors import ParseError
from ingest.extract import html_to_text
from ingest.feeds.parse import parse_feed
from ingest.model import FeedEntry, ParsedFeed

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "feedparser"
NOW = datetime(2026, 5, 1, tzinfo=UTC)
BASE_URL = "http://127.0.0.1:8097/"  # upstream serves HTTP cases here; expectations contain it

_DESCRIPTION = re.compile(r"Description:\s*(.*?)\s*Expect:\s*(.*)\s*-->", re.DOTALL)
_HEADER = re.compile(r"^Header:\s*([^:\n]+):\s*(.*?)\s*$", re.MULTILINE)
_SPACES = re.compile(r"\s+")
_BREAKS = re.compile(r"<(?:br|/?(?:p|div|li|h\d|tr|td|blockquote))\b[^>]*>", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# -- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    path: Path
    name: str  # e.g. "wellformed/rss/item_title.xml"
    description: str
    expect: str
    headers: dict[str, str]

    @property
    def category(self) -> str:
        parts = self.name.split("/")
        return "/".join(parts[:2]) if parts[0] == "wellformed" else parts[0]

    @property
    def url(self) -> str:
        return f"{BASE_URL}tests/{self.name}"


def _decode_comment(data: bytes) -> str:
    """Decode a case to find its comment, as upstream tests/helpers.py does."""
    for marks, codec in (
        ((b"\x00\x00\xfe\xff", b"\x00\x00\x00<"), "utf-32-be"),
        ((b"\xff\xfe\x00\x00", b"<\x00\x00\x00"), "utf-32-le"),
    ):
        if data[:4] in marks:
            return data.decode(codec, "ignore")
    for marks, codec in (
        ((b"\xfe\xff", b"\x00<"), "utf-16-be"),
        ((b"\xff\xfe", b"<\x00"), "utf-16-le"),
    ):
        if data[:2] in marks:
            return data.decode(codec, "ignore")
    return data.decode("utf-8", "ignore")


def load_cases(corpus: Path) -> list[Case]:
    """Every ``.xml`` case under ``corpus/tests``, with its expectation and HTTP headers."""
    cases = []
    root = corpus / "tests"
    for path in sorted(root.rglob("*.xml")):
        name = path.relative_to(root).as_posix()
        text = _decode_comment(path.read_bytes())
        match = _DESCRIPTION.search(text)
        description, expect = (match.group(1), match.group(2).strip()) if match else ("", "")
        headers: dict[str, str] = {}
        if "http" in name:  # only HTTP cases are served with their Header: lines
            headers = {"content-type": "text/xml"}
            headers.update({k.strip().lower(): v for k, v in _HEADER.findall(text)})
        cases.append(Case(path, name, description, expect, headers))
    return cases


def parse_case(case: Case) -> ParsedFeed:
    """Parse one case exactly as the pipeline parses a fetched feed."""
    return parse_feed(case.path.read_bytes(), url=case.url, headers=case.headers, now=NOW)


# -- mapping feedparser's fields onto newsflow's ----------------------------------------------

Getter = Callable[[ParsedFeed, tuple[Any, ...]], Any]


def _entry(parsed: ParsedFeed, path: tuple[Any, ...]) -> FeedEntry:
    index: int = path[1]
    return parsed.entries[index]


def _text(value: Any) -> str:
    """Plain text of an HTML or text value, whitespace collapsed: how titles and texts compare."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return repr(value)
    if "<" in value or "&" in value:
        value = _BREAKS.sub(" ", value)
        with contextlib.suppress(lxml.etree.ParserError, ValueError):
            value = lxml.html.fragment_fromstring(value, create_parent="div").text_content()
    return _SPACES.sub(" ", value).strip()


def _name(value: Any) -> str:
    """An author as newsflow keeps it: the name, without e-mail address or brackets."""
    if isinstance(value, dict):
        value = value.get("name") or ""
    text = _EMAIL.sub("", _text(value))
    return _SPACES.sub(" ", re.sub(r"[()<>]", " ", text)).strip()


def _date(value: Any) -> datetime | None:
    if isinstance(value, tuple) and len(value) >= 6:
        year, month, day, hour, minute, second = value[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class Field:
    """How one feedparser field is found in newsflow's output, and how values compare."""

    name: str  # the row of the per-field table
    get: Getter
    expected: Callable[[Any], Any] = lambda v: v
    actual: Callable[[Any], Any] = lambda v: v


def _summary_text(parsed: ParsedFeed, path: tuple[Any, ...]) -> str:
    # feedparser answers "summary" with the content when an entry has no summary.
    entry = _entry(parsed, path)
    return html_to_text(entry.summary or entry.content or "")


def _content_text(parsed: ParsedFeed, path: tuple[Any, ...]) -> str:
    return html_to_text(_entry(parsed, path).content or "")


TITLE = Field("entry title", lambda p, k: _entry(p, k).title, _text, _text)
SUMMARY = Field("entry summary text", _summary_text, _text, _text)
CONTENT = Field("entry content text", _content_text, _text, _text)
AUTHOR = Field("entry authors", lambda p, k: _entry(p, k).authors[0], _name, _name)


def _nth(attribute: str, index_at: int) -> Getter:
    return lambda p, k: getattr(_entry(p, k), attribute)[k[index_at]]


# Keyed by the feedparser path with entry and list indexes replaced by "#".
FIELDS: dict[tuple[Any, ...], Field] = {
    ("feed", "title"): Field("feed title", lambda p, k: p.title, _text, _text),
    ("feed", "title_detail", "value"): Field("feed title", lambda p, k: p.title, _text, _text),
    ("feed", "link"): Field("feed link", lambda p, k: p.link),
    ("feed", "language"): Field("feed language", lambda p, k: p.language, _lower),
    ("entries", "#", "title"): TITLE,
    ("entries", "#", "title_detail", "value"): TITLE,
    ("entries", "#", "link"): Field("entry link", lambda p, k: _entry(p, k).link),
    ("entries", "#", "id"): Field("entry id/guid", lambda p, k: _entry(p, k).guid),
    ("entries", "#", "guid"): Field("entry id/guid", lambda p, k: _entry(p, k).guid),
    ("entries", "#", "published"): Field(
        "entry dates", lambda p, k: _entry(p, k).published_raw, _text, _text
    ),
    ("entries", "#", "issued"): Field(
        "entry dates", lambda p, k: _entry(p, k).published_raw, _text, _text
    ),
    ("entries", "#", "published_parsed"): Field(
        "entry dates", lambda p, k: _entry(p, k).published_at, _date
    ),
    ("entries", "#", "issued_parsed"): Field(
        "entry dates", lambda p, k: _entry(p, k).published_at, _date
    ),
    ("entries", "#", "updated_parsed"): Field(
        "entry dates", lambda p, k: _entry(p, k).updated_at, _date
    ),
    ("entries", "#", "modified_parsed"): Field(
        "entry dates", lambda p, k: _entry(p, k).updated_at, _date
    ),
    ("entries", "#", "author"): AUTHOR,
    ("entries", "#", "author_detail", "name"): AUTHOR,
    ("entries", "#", "authors", "#"): Field("entry authors", _nth("authors", 3), _name, _name),
    ("entries", "#", "authors", "#", "name"): Field(
        "entry authors", _nth("authors", 3), _name, _name
    ),
    ("entries", "#", "summary"): SUMMARY,
    ("entries", "#", "summary_detail", "value"): SUMMARY,
    ("entries", "#", "description"): SUMMARY,
    ("entries", "#", "content", 0, "value"): CONTENT,
    ("entries", "#", "tags", "#", "term"): Field("entry tags", _nth("tags", 3), _text, _text),
    ("entries", "#", "category"): Field(
        "entry tags", lambda p, k: _entry(p, k).tags[0], _text, _text
    ),
    ("entries", "#", "image", "href"): Field("entry image", lambda p, k: _entry(p, k).image_url),
}


# -- scoring the Expect terms ----------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One scored term of an Expect expression."""

    field: str
    source: str
    getter: Getter
    path: tuple[Any, ...]
    expected: Any
    compare: Callable[[Any, Any], bool]


def _path(node: ast.expr) -> tuple[Any, ...] | None:
    """``entries[0]['title']``, ``feed.title``, ``entries[0].get('id')`` as a tuple of keys."""
    keys: list[Any] = []
    while True:
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            keys.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Attribute):
            keys.append(node.attr)
            node = node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keys.append(node.args[0].value)
            node = node.func.value
        else:
            break
    if not isinstance(node, ast.Name):
        return None
    return (node.id, *reversed(keys))


def _key(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """Replace entry and list indexes by "#", except content's (only the first is stored)."""
    key = list(path)
    for i, part in enumerate(key):
        if isinstance(part, int) and not (i > 0 and key[i - 1] == "content"):
            key[i] = "#"
    return tuple(key)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return eval(compile(ast.Expression(node), "<expect>", "eval"), {"datetime": datetime})


def checks_of(expect: str) -> tuple[list[Check], int]:
    """The scored terms of an Expect expression, and how many terms were not scored."""
    try:
        tree = ast.parse(expect, mode="eval").body
    except SyntaxError:
        return [], 1
    terms = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    checks: list[Check] = []
    skipped = 0
    for term in terms:
        check = _check(term)
        if check is None:
            skipped += 1
        else:
            checks.append(check)
    return checks, skipped


def _check(term: ast.expr) -> Check | None:
    if not (isinstance(term, ast.Compare) and len(term.ops) == 1):
        return None
    op, left, right = term.ops[0], term.left, term.comparators[0]
    source = ast.unparse(term)
    # len(entries) == n: every entry is kept.
    if (
        isinstance(op, ast.Eq)
        and isinstance(left, ast.Call)
        and isinstance(left.func, ast.Name)
        and left.func.id == "len"
        and ast.unparse(left.args[0]) == "entries"
    ):
        return Check(
            "entry count",
            source,
            lambda p, k: len(p.entries),
            (),
            _literal(right),
            lambda a, e: a == e,
        )
    path = _path(left)
    if path is None:
        return None
    spec = FIELDS.get(_key(path))
    if spec is None:
        return None
    if isinstance(op, ast.Eq):
        expected = spec.expected(_literal(right))
        return Check(spec.name, source, spec.get, path, expected, lambda a, e: spec.actual(a) == e)
    if isinstance(op, ast.Is) and isinstance(right, ast.Constant) and right.value is None:
        return Check(spec.name, source, spec.get, path, None, lambda a, e: not a)
    return None


def passes(check: Check, parsed: ParsedFeed | None) -> tuple[bool, Any]:
    """Whether the check holds on newsflow's output, and the value newsflow gave."""
    if parsed is None:
        return False, "<refused>"
    try:
        actual = check.getter(parsed, check.path)
    except (IndexError, KeyError):
        actual = None if check.expected is None else "<missing>"
    return check.compare(actual, check.expected), actual


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Row:
    files: int = 0
    crashes: int = 0
    refused: int = 0
    checks: int = 0
    passed: int = 0
    unscored: int = 0
    seconds: float = 0.0

    def add(self, other: Row) -> None:
        for name in ("files", "crashes", "refused", "checks", "passed", "unscored", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    by_category: dict[str, Row] = field(default_factory=lambda: defaultdict(Row))
    by_field: dict[str, Row] = field(default_factory=lambda: defaultdict(Row))
    crashes: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[Case, Check, Any]] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)


def crash_of(case: Case) -> tuple[ParsedFeed | None, str | None]:
    """Parse a case: (result or None when refused, crash description or None)."""
    try:
        return parse_case(case), None
    except ParseError:
        return None, None
    except Exception as exc:  # the point: anything but ParseError is a crash
        return None, f"{type(exc).__name__}: {exc}"


def run(cases: Iterable[Case]) -> Report:
    report = Report()
    for case in cases:
        row = report.by_category[case.category]
        row.files += 1
        started = time.perf_counter()
        parsed, crash = crash_of(case)
        elapsed = time.perf_counter() - started
        row.seconds += elapsed
        report.slowest.append((elapsed, case.name))
        if crash is not None:
            row.crashes += 1
            report.crashes.append((case.name, crash))
        elif parsed is None:
            row.refused += 1
            try:
                parse_case(case)
            except ParseError as exc:
                report.refusals[str(exc)[:70]] += 1
        checks, unscored = checks_of(case.expect)
        row.unscored += unscored
        for check in checks:
            ok, actual = passes(check, parsed)
            row.checks += 1
            row.passed += ok
            field_row = report.by_field[check.field]
            field_row.checks += 1
            field_row.passed += ok
            if not ok:
                report.failures.append((case, check, actual))
    report.slowest.sort(reverse=True)
    return report


# -- output ----------------------------------------------------------------------------------


def _rate(row: Row) -> str:
    return f"{100 * row.passed / row.checks:5.1f}%" if row.checks else "    -"


def print_report(report: Report, *, failures: int, only_field: str | None) -> None:
    print(f"{'category':<24} {'files':>5} {'crash':>5} {'refused':>7} {'scored':>6} "
          f"{'passed':>6} {'rate':>6} {'unscored':>8} {'ms/file':>7}")  # fmt: skip
    total = Row()
    for name in sorted(report.by_category):
        row = report.by_category[name]
        total.add(row)
        _print_row(name, row)
    print("-" * 84)
    _print_row("total", total)
    print()
    print(f"{'field newsflow stores':<24} {'scored':>6} {'passed':>6} {'rate':>6}")
    for name in sorted(report.by_field):
        row = report.by_field[name]
        print(f"{name:<24} {row.checks:>6} {row.passed:>6} {_rate(row):>6}")
    print()
    print("crashes:", len(report.crashes))
    for name, crash in report.crashes:
        print(f"  {name}: {crash}")
    print("refusals (ParseError), by message:")
    for message, count in report.refusals.most_common(8):
        print(f"  {count:4} {message}")
    print(
        "slowest files:", ", ".join(f"{name} {s * 1000:.0f} ms" for s, name in report.slowest[:3])
    )
    shown = [f for f in report.failures if only_field in (None, f[1].field)][:failures]
    if shown:
        print()
        print(f"failed checks (first {len(shown)}):")
    for case, check, actual in shown:
        print(f"  {case.name}: {check.source}")
        print(f"      expected {check.expected!r:.150}")
        print(f"      newsflow {actual!r:.150}")


def _print_row(name: str, row: Row) -> None:
    ms = 1000 * row.seconds / row.files if row.files else 0.0
    print(f"{name:<24} {row.files:>5} {row.crashes:>5} {row.refused:>7} {row.checks:>6} "
          f"{row.passed:>6} {_rate(row):>6} {row.unscored:>8} {ms:>7.1f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--failures", type=int, default=0, help="show this many failed checks")
    parser.add_argument("--field", help="show only failed checks of this field")
    args = parser.parse_args()
    if not (args.corpus / "tests").is_dir():
        print(f"no feedparser corpus at {args.corpus} (expected {args.corpus / 'tests'})")
        return 2
    started = time.perf_counter()
    report = run(load_cases(args.corpus))
    print_report(report, failures=args.failures, only_field=args.field)
    print(f"\n{time.perf_counter() - started:.1f} s")
    return 1 if report.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
