"""Record what newsflow makes of every page of the public corpora, and compare two records.

A change that must not alter any output (a refactoring, a library taking over a step) is
checked by recording before and after it and comparing page by page:

    git stash
    .venv/bin/python benchmarks/corpus_snapshot.py record /tmp/before.jsonl
    git stash pop
    .venv/bin/python benchmarks/corpus_snapshot.py record /tmp/after.jsonl
    .venv/bin/python benchmarks/corpus_snapshot.py compare /tmp/before.jsonl /tmp/after.jsonl

Each line holds one page: every field of ``extract_article`` (or its error), and what
``decode_html`` gives for the page's bytes under each of :data:`CONTENT_TYPES` (the decoded
text as a SHA-256, and the codec), so the header paths are covered as well as the in-page
declarations. The corpora are read in place (``--corpora``, as ``benchmarks/extraction.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from extraction import DEFAULT_CORPORA, LOADERS, NOW, available  # benchmarks/, the script's

from ingest.errors import IngestError
from ingest.extract.article import extract_article
from ingest.fetch.decode import decode_html

#: The Content-Type headers each page is also decoded under: none, no charset, a right one for
#: most pages, and two legacy labels that are wrong for most of them.
CONTENT_TYPES = (
    None,
    "text/html",
    "text/html; charset=utf-8",
    "text/html; charset=iso-8859-1",
    "text/html; charset=windows-1251",
)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def page_record(corpus: str, key: str, url: str, html: bytes) -> dict[str, Any]:
    """Everything newsflow makes of one page, as JSON-ready values."""
    record: dict[str, Any] = {"page": f"{corpus}/{key}"}
    try:
        article = extract_article(html, url, now=NOW)
    except IngestError as exc:
        record["error"] = str(exc)
    else:
        fields = dataclasses.asdict(article)
        record["article"] = {name: _jsonable(value) for name, value in fields.items()}
    decoded = {}
    for content_type in CONTENT_TYPES:
        text, encoding = decode_html(html, content_type)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        decoded[str(content_type)] = [encoding, digest]
    record["decoded"] = decoded
    return record


def record(out: Path, corpora: Path) -> int:
    names = available(corpora)
    if not names:
        print(f"no corpus under {corpora}", file=sys.stderr)
        return 2
    count = 0
    with out.open("w", encoding="utf-8") as sink:
        for name in names:
            for page in LOADERS[name](corpora):
                line = page_record(name, page.key, page.url, page.html)
                sink.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    print(f"{count} pages of {', '.join(names)} recorded in {out}")
    return 0


def _load(path: Path) -> dict[str, dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {entry["page"]: entry for entry in map(json.loads, lines)}


def compare(before: Path, after: Path, *, show: int) -> int:
    """Print the pages whose record differs, and which parts; exit 1 when any does."""
    old, new = _load(before), _load(after)
    differing = []
    for page in sorted(old.keys() | new.keys()):
        a, b = old.get(page, {}), new.get(page, {})
        parts = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        if "article" in parts:
            fields = a.get("article", {}).keys() | b.get("article", {}).keys()
            changed = sorted(
                f for f in fields if a.get("article", {}).get(f) != b.get("article", {}).get(f)
            )
            parts[parts.index("article")] = "article." + ",".join(changed)
        if "decoded" in parts:
            headers = a.get("decoded", {}).keys() | b.get("decoded", {}).keys()
            changed = sorted(
                h for h in headers if a.get("decoded", {}).get(h) != b.get("decoded", {}).get(h)
            )
            parts[parts.index("decoded")] = "decoded[" + "|".join(changed) + "]"
        if parts:
            differing.append((page, parts, a, b))
    print(f"{len(old)} pages before, {len(new)} after; {len(differing)} differ")
    for page, parts, a, b in differing[:show]:
        print(f"  {page}: {'; '.join(parts)}")
        for header, value in sorted(a.get("decoded", {}).items()):
            if b.get("decoded", {}).get(header) != value:
                print(f"      {header}: {value[0]} -> {b.get('decoded', {}).get(header, ['-'])[0]}")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="write one line per corpus page to OUT")
    rec.add_argument("out", type=Path)
    rec.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    cmp = commands.add_parser("compare", help="list the pages whose records differ")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--show", type=int, default=50, help="list at most this many pages")
    args = parser.parse_args()
    if args.command == "record":
        return record(args.out, args.corpora)
    return compare(args.before, args.after, show=args.show)


if __name__ == "__main__":
    sys.exit(main())
