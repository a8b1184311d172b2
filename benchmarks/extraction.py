"""Measure article extraction on the two public corpora, newsflow beside trafilatura.

    .venv/bin/python benchmarks/extraction.py                        # both corpora, markdown
    .venv/bin/python benchmarks/extraction.py --json                 # the same, as JSON
    .venv/bin/python benchmarks/extraction.py --corpora PATH         # default ../shared/corpora
    .venv/bin/python benchmarks/extraction.py --only scrapinghub --worst 20  # costliest pages
    .venv/bin/python benchmarks/extraction.py --no-trafilatura       # newsflow alone

Each corpus is scored with its own metric (``corpora/README.md``):

* ScrapingHub (181 pages, ``ground-truth.json``): texts become multisets of 4-token shingles
  (tokens are ``\\w+``); per page TP, FP and FN are divided by their sum, precision and recall
  are averaged over pages, F1 = 2PR/(P+R). Accuracy is the share of pages whose token
  sequence equals the truth's.
* trafilatura's set (990 pages, ``evaldata.json``): every ``with`` segment found in the text
  (whitespace collapsed, case-sensitive) is a TP, every one missing a FN; every ``without``
  segment found is a FP. Counts are summed over pages. The metadata annotations score too:
  title exact after whitespace is collapsed; date the same day (the UTC day, or the day the
  page itself writes); authors as a set of names, split on ``, ; / & |`` and "and"/"und",
  compared case-insensitively, where an empty annotation expects no author. Accuracy is the
  share of exact sets, author F1 the mean per-page F1 of the two sets. Title and date count
  only pages whose annotation is not empty.

A few ``evaldata.json`` keys are labels ("hard::zeit.de.zugverkehr.html"), not URLs: those
pages get the stand-in URL ``https://example.org/<file>``, for both extractors.

trafilatura runs, when installed (the ``bench`` dependency group), on the same bytes in the
same process with ``extract(html, url=..., favor_precision=False, include_comments=False,
include_tables=True)``; its metadata comes from ``extract_metadata``, timed apart. Both
extractors get the page bytes (each decodes them itself) and the page URL; time is wall clock
(``perf_counter``) around the call, after untimed warm-up calls (one on a page that makes
newsflow load its language model).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dateutil import parser as dateutil_parser

from ingest.errors import IngestError
from ingest.extract.article import extract_article

DEFAULT_CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
NOW = datetime(2026, 11, 28, tzinfo=UTC)
CORPORA = ("scrapinghub", "trafilatura")
STAND_IN = "https://example.org/"

_TOKEN = re.compile(r"\w+")
_NAME_SPLIT = re.compile(r"\s*(?:[,;/&|]|\band\b|\bund\b)\s*", re.IGNORECASE)


# -- the corpora -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One annotated page of a corpus."""

    key: str
    url: str
    html: bytes
    truth: dict[str, Any]


def load_scrapinghub(corpora: Path) -> list[Page]:
    root = corpora / "scrapinghub"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, item in sorted(truth.items()):
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, item["url"], html, item))
    return pages


def load_trafilatura(corpora: Path) -> list[Page]:
    root = corpora / "trafilatura"
    truth = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for url, item in truth.items():
        path = root / "pages" / f"{item['file']}.gz"
        html = gzip.decompress(path.read_bytes()) if path.exists() else b""
        if not html and (plain := root / "pages" / item["file"]).exists():
            html = plain.read_bytes()
        # A few keys are labels ("hard::zeit.de.zugverkehr.html"), not URLs: a neutral stand-in.
        page_url = url if url.startswith(("http://", "https://")) else STAND_IN + item["file"]
        pages.append(Page(item["file"], page_url, html, item))
    return pages


LOADERS: dict[str, Callable[[Path], list[Page]]] = {
    "scrapinghub": load_scrapinghub,
    "trafilatura": load_trafilatura,
}


def available(corpora: Path) -> list[str]:
    """Return the corpora present under ``corpora``."""
    marks = {"scrapinghub": "ground-truth.json", "trafilatura": "evaldata.json"}
    return [name for name in CORPORA if (corpora / name / marks[name]).is_file()]


# -- the extractors --------------------------------------------------------------------------


@dataclass
class Output:
    """What an extractor found on one page."""

    text: str = ""
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    days: set[date] = field(default_factory=set)  # the publication day, in UTC and locally
    seconds: float = 0.0
    meta_seconds: float = 0.0
    error: str | None = None


def run_newsflow(page: Page) -> Output:
    started = time.perf_counter()
    try:
        article = extract_article(page.html, page.url, now=NOW)
    except IngestError as exc:
        return Output(seconds=time.perf_counter() - started, error=str(exc))
    seconds = time.perf_counter() - started
    days: set[date] = set()
    if article.published_at is not None:
        days.add(article.published_at.astimezone(UTC).date())
        days.update(_local_day(article.published_raw))
    return Output(article.text, article.title, list(article.authors), days, seconds)


def _local_day(raw: str | None) -> set[date]:
    """The day a date string names in its own zone ("2021-09-15T23:51:00+02:00", or a date
    line as the page writes it: "16.05.2023, 00:30 Uhr")."""
    if not raw:
        return set()
    try:
        return {datetime.fromisoformat(raw.strip().replace("Z", "+00:00")).date()}
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():  # zone names dateutil does not know: the day stands
            warnings.simplefilter("ignore")
            return {dateutil_parser.parse(raw, dayfirst=True, fuzzy=True).date()}
    except (ValueError, OverflowError):
        return set()


def trafilatura_version() -> str | None:
    try:
        import trafilatura
    except ImportError:
        return None
    return str(trafilatura.__version__)


def run_trafilatura(page: Page) -> Output:
    import trafilatura

    started = time.perf_counter()
    text = trafilatura.extract(
        page.html,
        url=page.url,
        favor_precision=False,
        include_comments=False,
        include_tables=True,
    )
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    meta = trafilatura.extract_metadata(page.html, default_url=page.url)
    meta_seconds = time.perf_counter() - started
    days: set[date] = set()
    if meta.date:
        with contextlib.suppress(ValueError):
            days.add(date.fromisoformat(meta.date[:10]))
    authors = split_names(meta.author or "")
    return Output(text or "", meta.title, authors, days, seconds, meta_seconds)


EXTRACTORS: dict[str, Callable[[Page], Output]] = {
    "newsflow": run_newsflow,
    "trafilatura": run_trafilatura,
}


#: Warms an extractor up before timing: no ``lang`` attribute, so a language identifier loads
#: its model here rather than inside the first timed page that needs it.
WARM_UP = Page(
    key="warm-up",
    url="https://example.org/2026/11/28/warm-up",
    html=(
        "<html><head><title>Warm up</title></head><body><article><h1>Warm up</h1>"
        + "<p>The council met on Tuesday to discuss the budget for the new bridge.</p>" * 8
        + "</article></body></html>"
    ).encode(),
    truth={},
)


def run(extractor: Callable[[Page], Output], pages: list[Page]) -> list[Output]:
    """Run ``extractor`` over ``pages`` after untimed warm-up calls (imports, caches, models)."""
    if pages:
        extractor(WARM_UP)
        extractor(pages[0])
    return [extractor(page) for page in pages]


# -- the metrics -----------------------------------------------------------------------------


def _shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    # A text shorter than a shingle is one short shingle (as the benchmark's own code does).
    count = max(1, len(tokens) - size + 1)
    return Counter(shingle for i in range(count) if (shingle := tuple(tokens[i : i + size])))


def shingle_rates(truth: str, predicted: str) -> tuple[float, float, float]:
    """Return (TP, FP, FN) of 4-token shingles, divided by their sum."""
    want, got = _shingles(truth), _shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def score_scrapinghub(pages: list[Page], outputs: list[Output]) -> dict[str, Any]:
    precisions: list[float] = []
    recalls: list[float] = []
    exact = 0
    per_page: dict[str, tuple[float, float]] = {}
    for page, out in zip(pages, outputs, strict=True):
        truth = page.truth["articleBody"]
        tp, fp, fn = shingle_rates(truth, out.text)
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        if precision is not None:
            precisions.append(precision)
        if recall is not None:
            recalls.append(recall)
        exact += _TOKEN.findall(truth) == _TOKEN.findall(out.text)
        per_page[page.key] = (precision or 0.0, recall or 0.0)
    p = _mean(precisions)
    r = _mean(recalls)
    return {
        **_body(p, r, 2 * p * r / (p + r) if p + r else 0.0, pages, outputs),
        "accuracy": exact / len(pages) if pages else 0.0,
        "_per_page": per_page,
    }


def segment_counts(item: dict[str, Any], text: str) -> tuple[int, int, int, int]:
    """Return (TP, FN, FP, TN) of a page's ``with``/``without`` segments in ``text``."""
    flat = " ".join(text.split())
    found_with = sum(" ".join(seg.split()) in flat for seg in item.get("with", []))
    found_without = sum(" ".join(seg.split()) in flat for seg in item.get("without", []))
    return (
        found_with,
        len(item.get("with", [])) - found_with,
        found_without,
        len(item.get("without", [])) - found_without,
    )


def split_names(value: str) -> list[str]:
    """Split an author annotation or credit into names ("A, B und C" -> three)."""
    return [name for part in _NAME_SPLIT.split(value) if (name := " ".join(part.split()))]


def _name_set(names: Iterable[str]) -> set[str]:
    return {" ".join(name.split()).casefold() for name in names if name.strip()}


def author_f1(truth: str | list[str], found: list[str]) -> float:
    """Per-page F1 of two name sets; an annotation may be one string or a list of names."""
    listed = truth if isinstance(truth, list) else split_names(truth)
    want = _name_set(listed)
    got = _name_set(name for raw in found for name in split_names(raw))
    if not want and not got:
        return 1.0
    shared = len(want & got)
    return 2 * shared / (len(want) + len(got))


def score_trafilatura(pages: list[Page], outputs: list[Output]) -> dict[str, Any]:
    tp = fn = fp = 0
    titles = [0, 0]
    dates = [0, 0]
    authors = [0, 0]
    author_f1s: list[float] = []
    per_page: dict[str, tuple[int, int]] = {}
    for page, out in zip(pages, outputs, strict=True):
        item = page.truth
        p_tp, p_fn, p_fp, _ = segment_counts(item, out.text)
        tp, fn, fp = tp + p_tp, fn + p_fn, fp + p_fp
        per_page[page.key] = (p_fn, p_fp)
        if want := " ".join((item.get("title") or "").split()):
            titles[0] += want == " ".join((out.title or "").split())
            titles[1] += 1
        if want := (item.get("date") or "")[:10]:
            try:
                dates[0] += date.fromisoformat(want) in out.days
            except ValueError:
                dates[0] += 0
            dates[1] += 1
        if "author" in item:
            truth = item.get("author") or ""
            author_f1s.append(author_f1(truth, out.authors))
            authors[0] += author_f1s[-1] == 1.0
            authors[1] += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {
        **_body(p, r, f1, pages, outputs),
        "counts": {"tp": tp, "fn": fn, "fp": fp},
        "title": _share(titles),
        "date": _share(dates),
        "author": _share(authors),
        "author_f1": _mean(author_f1s),
        "_per_page": per_page,
    }


def _body(
    p: float, r: float, f1: float, pages: list[Page], outputs: list[Output]
) -> dict[str, Any]:
    seconds = sum(out.seconds for out in outputs)
    meta_seconds = sum(out.meta_seconds for out in outputs)
    return {
        "pages": len(pages),
        "errors": sum(out.error is not None for out in outputs),
        "f1": f1,
        "precision": p,
        "recall": r,
        "ms_per_page": 1000 * seconds / len(pages) if pages else 0.0,
        "metadata_ms_per_page": 1000 * meta_seconds / len(pages) if pages else 0.0,
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _share(counts: list[int]) -> dict[str, float | int]:
    right, total = counts
    return {"accuracy": right / total if total else 0.0, "right": right, "pages": total}


SCORERS: dict[str, Callable[[list[Page], list[Output]], dict[str, Any]]] = {
    "scrapinghub": score_scrapinghub,
    "trafilatura": score_trafilatura,
}


def evaluate(corpus: str, pages: list[Page], extractor: str) -> dict[str, Any]:
    """Run one extractor over one corpus's pages and score it with the corpus's metric."""
    return SCORERS[corpus](pages, run(EXTRACTORS[extractor], pages))


# -- the report ------------------------------------------------------------------------------


def markdown(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [
        "| corpus | extractor | F1 | precision | recall | accuracy | ms/page |",
        "|---|---|---|---|---|---|---|",
    ]
    for corpus, by_tool in results.items():
        label = f"{corpus} ({next(iter(by_tool.values()))['pages']} pages)"
        for tool, res in by_tool.items():
            accuracy = f"{res['accuracy']:.3f}" if "accuracy" in res else "–"
            lines.append(
                f"| {label} | {tool} | **{res['f1']:.3f}** | {res['precision']:.3f} | "
                f"{res['recall']:.3f} | {accuracy} | {res['ms_per_page']:.1f} |"
            )
    if "trafilatura" in results:
        lines += [
            "",
            "| metadata on trafilatura's set | title exact | date (day) | authors exact "
            "| author F1 | metadata ms/page |",
            "|---|---|---|---|---|---|",
        ]
        for tool, res in results["trafilatura"].items():
            meta_ms = res["metadata_ms_per_page"]
            lines.append(
                f"| {tool} | {_pct(res['title'])} | {_pct(res['date'])} | "
                f"{_pct(res['author'])} | {res['author_f1']:.3f} | "
                f"{f'{meta_ms:.1f}' if meta_ms else 'included'} |"
            )
    return "\n".join(lines)


def _pct(share: dict[str, Any]) -> str:
    return f"{100 * share['accuracy']:.1f}% ({share['right']}/{share['pages']})"


def worst(corpus: str, result: dict[str, Any], count: int) -> list[str]:
    per_page = result["_per_page"]
    if corpus == "scrapinghub":
        ranked = sorted(per_page.items(), key=lambda kv: min(kv[1]))
        return [f"{key[:16]} P={p:.2f} R={r:.2f}" for key, (p, r) in ranked[:count]]
    ranked = sorted(per_page.items(), key=lambda kv: -sum(kv[1]))
    return [f"FN={fn} FP={fp} {key}" for key, (fn, fp) in ranked[:count] if fn + fp]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--only", choices=CORPORA, action="append")
    parser.add_argument("--no-trafilatura", action="store_true", help="newsflow alone")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument("--worst", type=int, default=0, help="list newsflow's N worst pages")
    args = parser.parse_args(argv)

    corpora = [name for name in available(args.corpora) if not args.only or name in args.only]
    if not corpora:
        print(f"no corpus found under {args.corpora}", file=sys.stderr)
        return 2
    tools = ["newsflow"]
    version = trafilatura_version()
    if version is not None and not args.no_trafilatura:
        tools.append("trafilatura")
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for corpus in corpora:
        pages = LOADERS[corpus](args.corpora)
        results[corpus] = {tool: evaluate(corpus, pages, tool) for tool in tools}
    if args.json:
        public = {
            corpus: {
                tool: {k: v for k, v in res.items() if not k.startswith("_")}
                for tool, res in by_tool.items()
            }
            for corpus, by_tool in results.items()
        }
        print(json.dumps({"trafilatura_version": version, "results": public}, indent=2))
    else:
        print(markdown(results))
        if version is None:
            print("\n(trafilatura is not installed: install the `bench` group to compare)")
        else:
            print(f"\ntrafilatura {version}")
    for corpus in corpora if args.worst else ():
        print(f"\nnewsflow's worst pages on {corpus}:", file=sys.stderr)
        for line in worst(corpus, results[corpus]["newsflow"], args.worst):
            print("  " + line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
