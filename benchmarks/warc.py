"""How fast newsflow reads a WARC file, against the bare parser on the same file in the same run.

    .venv/bin/python benchmarks/warc.py                      # 100 MB file: speed table
    .venv/bin/python benchmarks/warc.py --size-mb 1000       # a 1 GB file
    .venv/bin/python benchmarks/warc.py --memory 100 1000    # peak memory, one process per size
    .venv/bin/python benchmarks/warc.py --with-warcio        # warcio's bare loop as well

The file is generated under /tmp (never in the repository) and reused: CC-NEWS-shaped, one
gzip member per record, a ``request`` and a ``response`` record per page, pages spread over 100
sites (``site00.example`` ... ``site99.example``). Rows of the table:

- ``fastwarc bare``: FastWARC iterating every record, touching nothing;
- ``fastwarc uri``: the same, reading each record's type and target URI (the least a filter
  does);
- ``warcio bare`` (``--with-warcio``): warcio iterating every record;
- ``scan, nothing matches``: ``ingest.backfill.warc_scan.scan_warc`` with one site that is in no
  record, through the same ``TailReader`` the backfill reads files with;
- ``scan, 10 % match``: the same wanting 10 of the 100 sites, every kept page's body read.

Each is run ``--repeat`` times in turn, and the best time is kept: the machine is shared, and
the best run is the one least disturbed. Rates are in records per second and megabytes (10^6
bytes) of the compressed file per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.backfill.warc_scan import SiteFilter, scan_warc  # noqa: E402
from ingest.backfill.warc_stream import LOCAL_CHUNK, TailReader  # noqa: E402

SITES = 100
_TEXT = """council harbour budget library bridge night train market garden river school museum
festival weather election report minister police court street city park opening residents plan vote
road station hospital water power season team match result"""
WORDS = _TEXT.split()


def generate(path: Path, size_mb: int, seed: int = 15) -> None:
    """Write a CC-NEWS-shaped WARC file of about ``size_mb`` MB (10^6 bytes) to ``path``."""
    rng = random.Random(seed)
    pool = [_page(rng, n) for n in range(400)]  # page bodies, reused with new URLs
    start = datetime(2021, 9, 14, tzinfo=UTC)
    tmp = path.with_suffix(".partial")
    with tmp.open("wb") as out:
        n = 0
        while out.tell() < size_mb * 1_000_000:
            site = f"site{n % SITES:02d}.example"
            url = f"https://www.{site}/news/2021/09/{n}.html"
            when = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = pool[n % len(pool)]
            request = f"GET /news/2021/09/{n}.html HTTP/1.1\r\nHost: www.{site}\r\n\r\n".encode()
            response = (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            out.write(_member(_record("request", url, when, request, "request")))
            out.write(_member(_record("response", url, when, response, "response")))
            n += 1
    tmp.rename(path)


def _page(rng: random.Random, n: int) -> bytes:
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 80))) + "</p>\n"
        for _ in range(rng.randint(8, 30))
    )
    return (
        f"<!doctype html><html><head><title>Story {n}</title>"
        f'<meta property="article:published_time" content="2021-09-14T08:{n % 60:02d}:00Z">'
        f"</head><body><article><h1>Story {n}</h1>{paragraphs}</article></body></html>"
    ).encode()


def _record(kind: str, url: str, when: str, block: bytes, msgtype: str) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {url}\r\nWARC-Date: {when}\r\n"
        f"WARC-Record-ID: <urn:uuid:{random.getrandbits(128):032x}>\r\n"
        f"Content-Type: application/http; msgtype={msgtype}\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    return head + block + b"\r\n\r\n"


def _member(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def bench_file(size_mb: int) -> Path:
    path = Path("/tmp") / f"newsflow-bench-{size_mb}mb.warc.gz"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        generate(path, size_mb)
    return path


# --- the runs ----------------------------------------------------------------------------------


def fastwarc_bare(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    with path.open("rb") as handle:
        return sum(1 for _ in ArchiveIterator(handle, parse_http=False))


def fastwarc_uri(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    n = 0
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle, parse_http=False):
            _ = record.record_type, record.headers.get("WARC-Target-URI")
            n += 1
    return n


def warcio_bare(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as handle:
        return sum(1 for _ in ArchiveIterator(handle))


def scan(path: Path, sites: frozenset[str]) -> tuple[int, int]:
    """Records read and pages kept by newsflow's scan."""
    records = kept = 0
    with path.open("rb") as handle:
        reader = TailReader(lambda: handle.read(LOCAL_CHUNK))
        for step in scan_warc(reader, wanted=SiteFilter(sites), max_body=5 * 1024 * 1024):
            records += step.records
            kept += len(step.pages)
    return records, kept


def timed(run: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def speed_table(path: Path, repeat: int, with_warcio: bool) -> None:
    size = path.stat().st_size / 1e6
    nothing = frozenset({"not-in-the-file.example"})
    tenth = frozenset(f"site{n:02d}.example" for n in range(0, SITES, 10))
    runs: dict[str, Callable[[], object]] = {
        "fastwarc bare": lambda: fastwarc_bare(path),
        "fastwarc uri": lambda: fastwarc_uri(path),
        "scan, nothing matches": lambda: scan(path, nothing),
        "scan, 10 % match": lambda: scan(path, tenth),
    }
    if with_warcio:
        runs["warcio bare"] = lambda: warcio_bare(path)
    best: dict[str, float] = {}
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            seconds, results[name] = timed(run)
            best[name] = min(best.get(name, seconds), seconds)
    records = int(str(results["fastwarc bare"]))
    print(f"file: {path} ({size:.1f} MB, {records} records), best of {repeat}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print()
    print("| run | seconds | records/s | MB/s | x bare | pages kept |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds in best.items():
        result = results[name]
        kept = str(result[1]) if isinstance(result, tuple) else ""
        print(
            f"| {name} | {seconds:.2f} | {records / seconds:,.0f} | {size / seconds:.1f} | "
            f"{seconds / best['fastwarc bare']:.2f} | {kept} |"
        )


def peak_memory(size_mb: int) -> None:
    """Scan the file of ``size_mb`` MB in a fresh process and print its peak RSS."""
    path = bench_file(size_mb)
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from benchmarks.warc import scan; from pathlib import Path;"
        "r = scan(Path(sys.argv[1]), frozenset(f'site{n:02d}.example' for n in range(0, 100, 10)));"
        # VmHWM, not getrusage: ru_maxrss keeps the forking parent's peak across exec.
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'));"
        "print(r[0], r[1], hwm.split()[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    records, kept, peak_kib = (int(x) for x in out)
    print(
        f"| {path.stat().st_size / 1e6:.0f} MB | {records} | {kept} | {peak_kib / 1024:.1f} MiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-warcio", action="store_true")
    parser.add_argument("--memory", type=int, nargs="*", metavar="SIZE_MB")
    args = parser.parse_args()
    if args.memory:
        print("| file | response records | pages kept (10 % of sites) | peak RSS |")
        print("|---|---:|---:|---:|")
        for size in args.memory:
            peak_memory(size)
        return
    speed_table(bench_file(args.size_mb), args.repeat, args.with_warcio)


if __name__ == "__main__":
    main()
