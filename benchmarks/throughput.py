"""Measure newsflow's ingest throughput against a floor that does only the unavoidable work.

    .venv/bin/python benchmarks/throughput.py                          # 1,000 and 10,000 articles
    .venv/bin/python benchmarks/throughput.py --articles 1000 --feeds 20 --json out.json
    .venv/bin/python benchmarks/throughput.py --no-postgres --server site
    .venv/bin/python benchmarks/throughput.py --articles 1000 --network real
    .venv/bin/python benchmarks/throughput.py profile --articles 1000 --out /tmp/ingest.prof

Two networks (``--network``, both by default). For each size and network, one run writes a
news site, serves it on loopback (``loopback.py``) and measures, each in a fresh process
(``throughput_workers.py``, the ``newsflow`` command). ``synthetic``: generated pages
(``synthetic_site.py``: K feeds x M pages of 50-150 KB, ~10 % syndicated copies). ``real``:
real publisher pages, the public corpora's (``corpus_site.py``: ScrapingHub's and
trafilatura's evaluation pages, served as bare ``text/html``; at most about 1,200 pages, so a
larger size is skipped on this network). The runs:

* the floor: the feeds and every page through one ``httpx.AsyncClient`` at newsflow's
  concurrency (16), each page parsed with ``lxml.html.fromstring``, nothing stored; best of
  ``--floor-repeats``. Also download only, and the same floor against the other server;
* the peer: the script a user would write instead of newsflow (issue #16; ``peer`` in
  ``throughput_workers.py``): httpx, feedparser, trafilatura's ``bare_extraction`` in a
  process per core, ``sqlite3`` ``INSERT OR IGNORE``; with the same connection limits as
  newsflow in the same run (16, and 16 per host);
* the pipeline without Prefect (``process_feed`` for every feed, SQLite), to tell Prefect's
  share from the pipeline's;
* ``newsflow ingest --feeds F --db URL`` into SQLite and into a temporary Postgres database,
  against one Prefect server started for the whole benchmark, with
  ``NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true`` and ``NEWSFLOW_PER_HOST_CONCURRENCY=16`` (the site is
  one host: the default of 2 per host would measure politeness, not newsflow); the Prefect task
  runs of each flow run are counted through the API;
* extraction per page on the ScrapingHub corpus and on 100 synthetic pages, newsflow beside
  trafilatura (and a bare lxml parse), in this process: interleaved page by page, each page's
  time the fastest of ``--extract-repeats`` calls.

Definitions. The peer's and the floor's rates are over their own clock, from their first
request to their last commit (the floor: last page). The site server timestamps each
request. Start-up = process start -> first request. Steady-state rate = articles stored /
(first request -> the flow run's end as Prefect recorded it; for the workers, their own
clock). Shut-down = flow end -> process exit. Peak RSS = the largest sum of VmRSS over the
process tree, sampled every 50 ms; maxrss = the kernel's peak for the largest single
process. CPU = user + system of the process tree; the site server's CPU is this process's
meanwhile. The machine may be shared: the load average at the start of each run is shown.

``profile`` runs the pipeline without Prefect under cProfile (event-loop thread and every
``asyncio.to_thread`` worker, merged; each thread's CPU time, or ``--wall``) and prints the
top functions by cumulative and by own time. Extraction runs in worker processes the profile
does not see; run with ``NEWSFLOW_EXTRACT_PROCESSES=0`` to profile it in threads too.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)  # run as a script from anywhere

from corpus_site import write_corpus_site  # noqa: E402
from extraction import WARM_UP  # noqa: E402
from loopback import Server, Watched, make_server, run_watched  # noqa: E402
from synthetic_site import SiteSpec, WrittenSite, write_site  # noqa: E402

NEWSFLOW = ROOT / ".venv" / "bin" / "newsflow"
WORKERS = HERE / "throughput_workers.py"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
NEWSFLOW_ENV = {
    "NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "true",
    "NEWSFLOW_PER_HOST_CONCURRENCY": "16",
    "NEWSFLOW_MAX_CONCURRENCY": "16",
}
FLOOR = "floor: httpx + lxml"
PEER = "peer: httpx + feedparser + trafilatura + sqlite3"
NEWSFLOW_SQLITE = "newsflow ingest, SQLite"
NETWORKS = ("synthetic", "real")


@dataclass
class Run:
    """One measured run at one size."""

    size: int
    name: str
    server: str
    articles: int = 0  # pages fetched (floor) or articles stored
    seconds: float = 0.0  # what the rate is computed over
    rate: float = 0.0  # articles per second
    startup_s: float | None = None
    fetch_window_s: float | None = None  # first request -> last page request
    shutdown_s: float | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    maxrss_mib: float = 0.0
    processes: int = 1
    load: float = 0.0
    task_runs: int | None = None
    task_run_names: dict[str, int] = field(default_factory=dict)
    notes: str = ""
    network: str = "synthetic"

    @classmethod
    def from_watched(cls, size: int, name: str, server: Server, watched: Watched) -> Run:
        marks = server.marks
        first = marks.first or watched.started
        return cls(
            size=size,
            name=name,
            server=type(server).__name__,
            startup_s=first - watched.started,
            fetch_window_s=(marks.last_page or first) - first,
            wall_s=watched.ended - watched.started,
            cpu_s=watched.cpu_s,
            server_cpu_s=watched.server_cpu_s,
            peak_rss_mib=watched.peak_tree_rss_mib,
            maxrss_mib=watched.maxrss_mib,
            processes=watched.max_processes,
            load=watched.load_before,
            notes=f"{marks.pages} page requests",
        )

    def rate_over(self, articles: int, seconds: float) -> None:
        self.articles, self.seconds = articles, seconds
        self.rate = articles / seconds if seconds > 0 else 0.0


# -- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What every run at one size needs."""

    size: int
    feeds_file: Path
    server: Server
    prefect_env: dict[str, str]
    work: Path
    timeout: float
    network: str = "synthetic"


def run_worker(
    ctx: Context, name: str, worker_args: list[str], env: dict[str, str], workers: Path = WORKERS
) -> Run:
    """Run a ``throughput_workers.py`` command; the rate is over the worker's own clock.
    ``workers``: another tree's copy, which imports that tree's newsflow."""
    ctx.server.marks.reset()
    argv = [sys.executable, str(workers), *worker_args]
    label = f"{ctx.size}-{name.split(':')[0].replace(' ', '-')}-{time.monotonic_ns()}"
    watched = run_watched(argv, env, ctx.work, label, ctx.timeout)
    answer = json.loads(watched.stdout.read_text().strip().splitlines()[-1])
    run = Run.from_watched(ctx.size, name, ctx.server, watched)
    run.rate_over(int(answer["articles"]), float(answer["seconds"]))
    if answer.get("failed_pages") or answer.get("failed_feeds"):
        run.notes += (
            f", {answer['failed_pages']} failed pages, {answer['failed_feeds']} failed feeds"
        )
    if answer.get("first_error"):
        run.notes += f" (first: {answer['first_error'][:120]})"
    if answer.get("thread_cpu_s"):
        cpu = answer["thread_cpu_s"]
        run.notes += f", CPU s in the loop thread {cpu['loop']}, in worker threads {cpu['others']}"
    return run


Measure = Callable[[Context, str], Run]


def attempt(ctx: Context, name: str, measure: Measure) -> Run:
    """Run one measurement; a run that fails becomes a row saying why, not the benchmark's end."""
    try:
        run = measure(ctx, name)
    except (RuntimeError, TimeoutError, OSError, httpx.HTTPError) as exc:
        reason = " ".join(str(exc).split())[-300:]
        _say(ctx.size, f"{ctx.network}: {name} FAILED: {reason}")
        failed = Run(ctx.size, name, type(ctx.server).__name__, notes=f"FAILED: {reason}")
        failed.network = ctx.network
        return failed
    run.network = ctx.network
    _say(ctx.size, f"{ctx.network}: {name}: {run.rate:.1f} articles/s, load {run.load:.2f}")
    return run


def run_floor(ctx: Context, name: str, flags: list[str], repeats: int) -> Run:
    """The fastest of ``repeats`` floor runs."""
    runs = [
        run_worker(ctx, name, ["floor", str(ctx.feeds_file), *flags], dict(os.environ))
        for _ in range(repeats)
    ]
    best = max(runs, key=lambda r: r.rate)
    if repeats > 1:
        best.notes += f", best of {repeats}: " + " / ".join(f"{r.rate:.0f}" for r in runs)
    return best


def run_peer(ctx: Context, name: str, db_file: Path) -> Run:
    """The peer script, with newsflow's connection limits of this run."""
    per_host = NEWSFLOW_ENV["NEWSFLOW_PER_HOST_CONCURRENCY"]
    argv = ["peer", str(ctx.feeds_file), str(db_file), "--per-host", per_host]
    return run_worker(ctx, name, argv, dict(os.environ))


def run_newsflow(ctx: Context, name: str, database_url: str) -> Run:
    """``newsflow ingest`` as a subprocess against the running Prefect server."""
    ctx.server.marks.reset()
    argv = [str(NEWSFLOW), "ingest", "--feeds", str(ctx.feeds_file), "--db", database_url]
    env = {**ctx.prefect_env, **NEWSFLOW_ENV}
    label = f"{ctx.size}-{name.split(',')[-1].strip()}"
    watched = run_watched(argv, env, ctx.work, label, ctx.timeout)
    run = Run.from_watched(ctx.size, name, ctx.server, watched)
    flow_run, run.task_runs, run.task_run_names = prefect_flow_run(
        ctx.prefect_env["PREFECT_API_URL"], watched.started
    )
    flow_end = _timestamp(flow_run.get("end_time")) or watched.ended
    first = ctx.server.marks.first or watched.started
    run.rate_over(count_articles(database_url), flow_end - first)
    run.shutdown_s = watched.ended - flow_end
    run.notes += f", flow run {(flow_run.get('state') or {}).get('type')}"
    failed = [
        line
        for line in watched.stderr.read_text(errors="replace").splitlines()
        if line.startswith("http://") and ": " in line
    ]
    if failed:
        run.notes += f", {len(failed)} failed feeds (first: {failed[0].split(': ', 1)[1][:120]})"
    return run


def prefect_flow_run(api: str, since: float) -> tuple[dict[str, Any], int, dict[str, int]]:
    """The ingest flow run started after ``since``, its task-run count and their names."""
    after = datetime.fromtimestamp(since - 1, UTC).isoformat()
    with httpx.Client(base_url=api, timeout=30) as client:
        found = client.post(
            "/flow_runs/filter",
            json={
                "flows": {"name": {"any_": ["ingest"]}},
                "flow_runs": {"start_time": {"after_": after}},
                "sort": "START_TIME_DESC",
                "limit": 1,
            },
        )
        found.raise_for_status()
        if not found.json():
            raise RuntimeError("no ingest flow run found in the Prefect API")
        flow_run: dict[str, Any] = found.json()[0]
        task_filter = {"flow_runs": {"id": {"any_": [flow_run["id"]]}}}
        count = client.post("/task_runs/count", json=task_filter)
        count.raise_for_status()
        total = int(count.json())
        names: dict[str, int] = {}
        for offset in range(0, total, 200):
            page = client.post(
                "/task_runs/filter", json={**task_filter, "limit": 200, "offset": offset}
            )
            page.raise_for_status()
            for task_run in page.json():
                kind = f"{task_run['name'].split('-')[0]}-* {task_run.get('state_type')}"
                names[kind] = names.get(kind, 0) + 1
        return flow_run, total, names


def _timestamp(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def count_articles(database_url: str) -> int:
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    import psycopg

    with psycopg.connect(database_url) as db:
        row = db.execute("SELECT count(*) FROM articles").fetchone()
        return int(row[0]) if row else 0


@contextlib.contextmanager
def temp_postgres(pg_url: str, name: str) -> Iterator[str]:
    """Create database ``name`` on the server of ``pg_url``; drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(pg_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- extraction per page ---------------------------------------------------------------------


@dataclass
class ExtractionTiming:
    corpus: str
    extractor: str
    pages: int
    mean_ms: float
    median_ms: float
    p95_ms: float
    errors: int


def time_extractors(
    corpus: str,
    extractors: dict[str, Callable[[bytes, str], Any]],
    pages: list[tuple[str, bytes]],
    repeats: int,
) -> list[ExtractionTiming]:
    """Time every extractor on every page, interleaved so that a busy moment of a shared
    machine hits them alike; a page's time is the fastest of ``repeats`` calls."""
    for extract in extractors.values():  # warm-up: imports, caches, models
        for url, html in (pages[0], (WARM_UP.url, WARM_UP.html)):
            with contextlib.suppress(Exception):
                extract(html, url)
    best: dict[str, list[float]] = {name: [] for name in extractors}
    errors = dict.fromkeys(extractors, 0)
    for url, html in pages:
        for name, extract in extractors.items():
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                try:
                    extract(html, url)
                except Exception:  # an extractor's failure is a result here, not a crash
                    errors[name] += 1
                times.append((time.perf_counter() - started) * 1000)
            best[name].append(min(times))
    timings = []
    for name, times in best.items():
        times.sort()
        timings.append(
            ExtractionTiming(
                corpus,
                name,
                len(times),
                statistics.fmean(times),
                statistics.median(times),
                times[int(0.95 * (len(times) - 1))],
                errors[name] // repeats,
            )
        )
    return timings


def load_scrapinghub(corpora: Path) -> list[tuple[str, bytes]]:
    root = corpora / "scrapinghub"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (item["url"], gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()))
        for key, item in sorted(truth.items())
    ]


def extraction_timings(
    corpora: Path, synthetic: list[tuple[str, bytes]], repeats: int
) -> list[ExtractionTiming]:
    """newsflow beside trafilatura and a bare lxml parse, on the corpus and synthetic pages."""
    import lxml.html

    from ingest.extract import extract_article

    extractors: dict[str, Callable[[bytes, str], Any]] = {
        "newsflow extract_article": lambda html, url: extract_article(html, url),
        "lxml.html.fromstring (parse only)": lambda html, url: lxml.html.fromstring(html),
    }
    if (trafilatura := _trafilatura()) is not None:
        extractors["trafilatura.extract"] = trafilatura
    sets = [("synthetic", synthetic)]
    if (corpora / "scrapinghub" / "ground-truth.json").is_file():
        sets.insert(0, ("scrapinghub", load_scrapinghub(corpora)))
    return [
        timing
        for corpus, pages in sets
        if pages
        for timing in time_extractors(corpus, extractors, pages, repeats)
    ]


def _trafilatura() -> Callable[[bytes, str], Any] | None:
    try:
        import trafilatura
    except ImportError:
        return None
    # The settings of benchmarks/extraction.py.
    return lambda html, url: trafilatura.extract(
        html, url=url, favor_precision=False, include_comments=False, include_tables=True
    )


# -- the whole benchmark ---------------------------------------------------------------------


def feeds_toml(base_url: str, site: WrittenSite) -> str:
    return "".join(
        f'[[feeds]]\nurl = "{base_url}{path}"\nname = "Gazette {k}"\n\n'
        for k, path in enumerate(site.feed_paths)
    )


def measure_size(
    network: str,
    articles: int,
    feeds: int,
    args: argparse.Namespace,
    prefect_env: dict[str, str],
    work: Path,
) -> tuple[list[Run], dict[str, Any], list[tuple[str, bytes]]]:
    """Every run at one size of one network; returns the runs, facts about the site and 100
    sample pages."""
    spec = SiteSpec(feeds=feeds, per_feed=max(1, articles // feeds))
    site_dir = work / f"site-{network}-{spec.articles}"
    site_dir.mkdir()
    started = time.perf_counter()
    if network == "real":
        site = write_corpus_site(site_dir, spec, Path(args.corpora))
    else:
        site = write_site(site_dir, spec)
    facts = {
        "network": network,
        "articles": spec.articles,
        "feeds": feeds,
        "syndicated": site.syndicated,
        "mean_page_kib": site.page_bytes / len(site.page_paths) / 1024,
        "generate_s": time.perf_counter() - started,
    }
    _say(spec.articles, f"{network} site written in {facts['generate_s']:.1f} s")
    other = "site" if args.server == "fast" else "fast"
    runs = []
    charset = network != "real"
    server = make_server(args.server, site_dir, charset=charset)
    spare = make_server(other, site_dir, charset=charset)
    with server, spare:
        ctxs = {}
        for srv in (server, spare):
            feeds_file = work / f"feeds-{network}-{spec.articles}-{type(srv).__name__}.toml"
            feeds_file.write_text(feeds_toml(srv.base_url, site), encoding="utf-8")
            ctxs[srv] = Context(
                spec.articles, feeds_file, srv, prefect_env, work, args.timeout, network
            )
        ctx = ctxs[server]
        sample = [
            (server.base_url + path, _page_bytes(site_dir, path, server.base_url))
            for path in site.page_paths[:100]
        ]
        direct_db = f"sqlite:///{work / f'direct-{network}-{spec.articles}.db'}"
        direct = ["pipeline", str(ctx.feeds_file), direct_db]
        direct_env = {**os.environ, **NEWSFLOW_ENV}
        newsflow_db = f"sqlite:///{work / f'newsflow-{network}-{spec.articles}.db'}"
        peer_db = work / f"peer-{network}-{spec.articles}.db"
        measures: list[tuple[str, Context, Measure]] = [
            (FLOOR, ctx, lambda c, n: run_floor(c, n, ["--parse"], args.floor_repeats)),
            ("floor: httpx download only", ctx, lambda c, n: run_floor(c, n, [], 1)),
            (f"{FLOOR} (other server)", ctxs[spare], lambda c, n: run_floor(c, n, ["--parse"], 1)),
            (PEER, ctx, lambda c, n: run_peer(c, n, peer_db)),
        ]
        if not args.no_direct:
            measures.append(
                (
                    "pipeline without Prefect, SQLite",
                    ctx,
                    lambda c, n: run_worker(c, n, direct, direct_env),
                )
            )
        for k, tree in enumerate(args.compare_tree or []):
            # The same pipeline from another checkout (say, the commit before a change), in
            # the same run: a change's before and after, beside the peer.
            other_db = f"sqlite:///{work / f'direct-{network}-{spec.articles}-tree{k}.db'}"
            other = ["pipeline", str(ctx.feeds_file), other_db]
            workers = Path(tree).resolve() / "benchmarks" / "throughput_workers.py"
            measures.append(
                (
                    f"pipeline without Prefect, SQLite, {Path(tree).name}",
                    ctx,
                    lambda c, n, o=other, w=workers: run_worker(c, n, o, direct_env, w),
                )
            )
        measures.append((NEWSFLOW_SQLITE, ctx, lambda c, n: run_newsflow(c, n, newsflow_db)))
        for name, context, measure in measures:
            runs.append(attempt(context, name, measure))
        if not args.no_postgres:
            database = f"newsflow_bench_{os.getpid()}_{network}_{spec.articles}"
            with temp_postgres(args.pg_url, database) as pg:
                name = "newsflow ingest, Postgres"
                runs.append(attempt(ctx, name, lambda c, n: run_newsflow(c, n, pg)))
    if not args.keep:
        shutil.rmtree(site_dir)
    return runs, facts, sample


def _page_bytes(site_dir: Path, path: str, base_url: str) -> bytes:
    return (site_dir / path.lstrip("/")).read_bytes().replace(b"{base}", base_url.encode())


def _say(size: int, message: str) -> None:
    print(f"[{size:,}] {message}", file=sys.stderr, flush=True)


def sizes(args: argparse.Namespace) -> list[tuple[int, int]]:
    feeds = args.feeds or [20 if n <= 2000 else 50 for n in args.articles]
    if len(feeds) != len(args.articles):
        raise SystemExit("give one --feeds value per --articles value, or none")
    return list(zip(args.articles, feeds, strict=True))


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    from flows.localserver import local_prefect_server

    work = Path(tempfile.mkdtemp(prefix="newsflow-throughput-"))
    report: dict[str, Any] = {
        "machine": machine(),
        "server": args.server,
        "command": " ".join(["benchmarks/throughput.py", *sys.argv[1:]]),
        "sizes": [],
    }
    runs: list[Run] = []
    sample: list[tuple[str, bytes]] = []
    try:
        (work / "prefect-home").mkdir()
        started = time.perf_counter()
        with local_prefect_server(work / "prefect-home") as prefect_env:
            report["prefect_server_start_s"] = time.perf_counter() - started
            for network in args.network:
                for articles, feeds in sizes(args):
                    try:
                        size_runs, facts, size_sample = measure_size(
                            network, articles, feeds, args, prefect_env, work
                        )
                    except ValueError as exc:  # more real pages asked for than there are
                        _say(articles, f"{network}: skipped, {exc}")
                        continue
                    runs += size_runs
                    report["sizes"].append(facts)
                    if network == "synthetic":
                        sample = sample or size_sample
        if not args.no_extraction:
            timings = extraction_timings(Path(args.corpora), sample, args.extract_repeats)
            report["extraction"] = [asdict(t) for t in timings]
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["runs"] = [asdict(r) for r in runs]
    report["summary"] = summarize(runs)
    return report


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    """Per network, size and run: the floor's and the peer's rate over its rate; memory
    against the network's smallest size."""
    by_size: dict[tuple[str, int], dict[str, Run]] = {}
    for run in runs:
        by_size.setdefault((run.network, run.size), {})[run.name] = run
    rows = []
    for (network, size), named in sorted(by_size.items()):
        smallest = min(s for n, s in by_size if n == network)
        floor, peer = named.get(FLOOR), named.get(PEER)
        for name, run in named.items():
            if name.startswith("floor"):
                continue
            base = by_size[network, smallest].get(name)
            rows.append(
                {
                    "network": network,
                    "size": size,
                    "run": name,
                    "rate": run.rate,
                    "floor_rate": floor.rate if floor else None,
                    "floor_ratio": floor.rate / run.rate if floor and run.rate else None,
                    "peer_rate": peer.rate if peer else None,
                    "peer_ratio": peer.rate / run.rate if peer and run.rate else None,
                    "load": run.load,
                    "cpu_ms_per_article": 1000 * run.cpu_s / run.articles if run.articles else None,
                    "peak_rss_mib": run.peak_rss_mib,
                    "memory_ratio": (
                        run.peak_rss_mib / base.peak_rss_mib
                        if size != smallest and base and base.peak_rss_mib
                        else None
                    ),
                    "task_runs": run.task_runs,
                }
            )
    return rows


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
    }


# -- output ----------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    env = ", ".join(f"{k}={v}" for k, v in NEWSFLOW_ENV.items())
    lines = [
        f"# newsflow throughput, {m['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}. "
        f"Site server: {report['server']}. Prefect server start-up (once, not in any run): "
        f"{report['prefect_server_start_s']:.1f} s. newsflow ran with {env}.",
        "",
        f"Command: `.venv/bin/python {report.get('command', 'benchmarks/throughput.py')}`",
        "",
        *headline(report),
        "",
        "| network | articles | feeds | syndicated copies | mean page | site written in |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in report["sizes"]:
        lines.append(
            f"| {s.get('network', 'synthetic')} | {s['articles']:,} | {s['feeds']} | "
            f"{s['syndicated']} | {s['mean_page_kib']:.0f} KiB | {s['generate_s']:.1f} s |"
        )
    lines += [
        "",
        "| network | articles | run | done | start-up s | fetch window s | rate over s "
        "| shut-down s "
        "| articles/s | wall s | CPU s | server CPU s | peak RSS MiB | maxrss MiB | procs "
        "| load | task runs | notes |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in report["runs"]:
        tasks = "–"
        if r["task_runs"] is not None:
            tasks = (
                f"{r['task_runs']} ("
                + ", ".join(f"{k}: {v}" for k, v in r["task_run_names"].items())
                + ")"
            )
        lines.append(
            f"| {r.get('network', 'synthetic')} | {r['size']:,} | {r['name']} | "
            f"{r['articles']:,} | {_num(r['startup_s'])} | "
            f"{_num(r['fetch_window_s'])} | {_num(r['seconds'])} | {_num(r['shutdown_s'])} | "
            f"**{_num(r['rate'])}** | {_num(r['wall_s'])} | {_num(r['cpu_s'])} | "
            f"{_num(r['server_cpu_s'])} | {_num(r['peak_rss_mib'], 0)} | "
            f"{_num(r['maxrss_mib'], 0)} | {r['processes']} | {r['load']:.1f} | {tasks} | "
            f"{r['server']}, {r['notes']} |"
        )
    lines += [
        "",
        "| network | articles | run | articles/s | floor articles/s | floor / run "
        "| peer articles/s | peer / run "
        "| CPU ms/article | peak RSS MiB | RSS vs smallest size (≤ 1.3) | task runs |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report["summary"]:
        lines.append(
            f"| {s.get('network', 'synthetic')} | {s['size']:,} | {s['run']} | "
            f"{_num(s['rate'])} | {_num(s['floor_rate'])} | "
            f"**{_num(s['floor_ratio'], 2)}** | {_num(s.get('peer_rate'))} | "
            f"**{_num(s.get('peer_ratio'), 2)}** | {_num(s['cpu_ms_per_article'])} | "
            f"{_num(s['peak_rss_mib'], 0)} | {_num(s['memory_ratio'], 2)} | "
            f"{s['task_runs'] if s['task_runs'] is not None else '–'} |"
        )
    lines += [
        "",
        "| pages | extractor | n | mean ms/page | median | p95 | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for t in report.get("extraction", []):
        lines.append(
            f"| {t['corpus']} | {t['extractor']} | {t['pages']} | **{t['mean_ms']:.2f}** | "
            f"{t['median_ms']:.2f} | {t['p95_ms']:.2f} | {t['errors']} |"
        )
    return "\n".join(lines)


def headline(report: dict[str, Any]) -> list[str]:
    """Per network and size: floor, peer and newsflow side by side, with both ratios."""
    lines = [
        "| network | articles | run | articles/s | CPU ms/article | peak RSS MiB "
        "| peer ÷ run | floor ÷ run | load |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = {(s.get("network"), s["size"], s["run"]): s for s in report["summary"]}
    for r in report["runs"]:
        if r["name"].startswith("floor") and r["name"] != FLOOR:
            continue
        s = {} if r["name"] == PEER else ratios.get((r.get("network"), r["size"], r["name"]), {})
        cpu = 1000 * r["cpu_s"] / r["articles"] if r["articles"] else None
        lines.append(
            f"| {r.get('network', 'synthetic')} | {r['size']:,} | {r['name']} | "
            f"**{_num(r['rate'])}** | {_num(cpu)} | {_num(r['peak_rss_mib'], 0)} | "
            f"{_num(s.get('peer_ratio'), 2)} | {_num(s.get('floor_ratio'), 2)} | "
            f"{r['load']:.2f} |"
        )
    return lines


# -- profile ---------------------------------------------------------------------------------


def profile(args: argparse.Namespace) -> None:
    """Serve a generated site here; profile the pipeline in a subprocess against it."""
    work = Path(tempfile.mkdtemp(prefix="newsflow-profile-"))
    articles, feeds = sizes(args)[0]
    try:
        (work / "site").mkdir()
        site = write_site(work / "site", SiteSpec(feeds=feeds, per_feed=max(1, articles // feeds)))
        with make_server(args.server, work / "site") as server:
            feeds_file = work / "feeds.toml"
            feeds_file.write_text(feeds_toml(server.base_url, site), encoding="utf-8")
            db = f"sqlite:///{work / 'profile.db'}"
            argv = [sys.executable, str(WORKERS), "pipeline", str(feeds_file), db]
            argv += ["--profile", str(args.out.resolve())] + (["--wall"] if args.wall else [])
            env = {**os.environ, **NEWSFLOW_ENV}
            watched = run_watched(argv, env, work, "profile", args.timeout)
            wall = watched.ended - watched.started
            print(
                f"profiled pipeline, {articles:,} articles in {feeds} feeds: "
                f"{watched.stdout.read_text().strip()}; wall {wall:.1f} s, "
                f"CPU {watched.cpu_s:.1f} s; profile in {args.out}"
            )
        stats = pstats.Stats(str(args.out))
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=["run", "profile"], default="run")
    parser.add_argument("--articles", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--feeds", type=int, nargs="+", help="per size (default 20, 50 > 2,000)")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="server for a temporary database")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-direct", action="store_true", help="skip the run without Prefect")
    parser.add_argument(
        "--compare-tree",
        nargs="+",
        metavar="DIR",
        help="also run the pipeline without Prefect from these checkouts (before a change)",
    )
    parser.add_argument("--no-extraction", action="store_true", help="skip the per-page timings")
    parser.add_argument("--server", choices=["fast", "site"], default="fast")
    parser.add_argument(
        "--network", choices=NETWORKS, nargs="+", default=list(NETWORKS), help="default: both"
    )
    parser.add_argument("--floor-repeats", type=int, default=2)
    parser.add_argument("--corpora", default=str(DEFAULT_CORPORA))
    parser.add_argument("--extract-repeats", type=int, default=3, help="calls per page, fastest")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run at most")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--out", type=Path, default=Path("ingest.prof"), help="profile file")
    parser.add_argument("--top", type=int, default=15, help="functions to list when profiling")
    parser.add_argument("--wall", action="store_true", help="profile wall time, not thread CPU")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.command == "profile":
        if args.articles == [1000, 10000]:
            args.articles = [1000]
        profile(args)
        return
    report = run_benchmark(args)
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
