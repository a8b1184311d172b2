"""Many feeds per run (#17): the same articles from a few big outlets or from thousands of small
ones, each outlet on a loopback address of its own, through ``newsflow ingest``.

    .venv/bin/python benchmarks/many_feeds.py                        # 20,000 articles, 4 networks
    .venv/bin/python benchmarks/many_feeds.py --networks 1000x2 20x100 --dbs sqlite
    .venv/bin/python benchmarks/many_feeds.py recorder --task-runs 1000 --batch 1 200

``run`` (the default). For each network ``OUTLETS x ARTICLES`` (default 100x200, 200x100,
1000x20 and 10000x2: 20,000 articles each) it writes a synthetic news site
(``synthetic_site.py``: pages of 50-150 KB, ~10 % syndicated copies) and serves outlet k's feed
and pages on its own address, 127.0.1.1 onwards (``loopback.FastServer``), so a run talks to as
many hosts as it has feeds. Then, for SQLite and for a temporary Postgres database, against one
Prefect server started for the whole benchmark:

* ``newsflow ingest --feeds F --db URL`` with newsflow's defaults (and
  ``NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true``): wall time (process start to exit), the flow run's
  own time (Prefect's start_time to end_time), articles stored, feeds fetched (last_fetched_at
  set), articles/s over the flow run, peak RSS of the process tree (sampled every 50 ms), the
  Prefect task runs of the flow run (read from the API) and how long after the process ended
  the server had recorded all of them in a final state;
* the pipeline alone (``throughput_workers.py pipeline``: ``process_feed`` for every feed at the
  same concurrency, no Prefect), into a fresh database of the same kind.

Share of time in Prefect = 1 - (pipeline alone) / (flow run). Both clocks start after the
process started; the flow run also counts reading the feeds file, syncing the feeds table and
planning, which the pipeline's clock leaves out, so the share is an upper bound of Prefect's
bookkeeping (task runs, logs, artifacts). The two runs are apart in time: on a shared machine,
compare rows of similar load (shown).

``recorder``: how long Prefect's server takes to record a large run's task runs. A flow of N
trivial tasks (``.map`` on 16 threads) runs against a fresh server for each combination of
server database (``--prefect-dbs``) and ``--batch`` B, given to the server as
``PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE`` and ``..._READ_BATCH_SIZE``; reported:
the flow run's own time and the seconds from its end until the API counts N completed task runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)  # run as a script from anywhere

from loopback import FastServer, loopback_address, run_watched  # noqa: E402
from synthetic_site import SiteSpec, write_site  # noqa: E402
from throughput import (  # noqa: E402
    DEFAULT_PG,
    NEWSFLOW,
    WORKERS,
    count_articles,
    machine,
    prefect_flow_run,
    temp_postgres,
)

DEFAULT_NETWORKS = ("100x200", "200x100", "1000x20", "10000x2")
NEWSFLOW_ENV = {"NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "true"}
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RECORDER_SETTINGS = (
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE",
)


@dataclass(frozen=True)
class Network:
    outlets: int
    per_outlet: int

    @classmethod
    def parse(cls, text: str) -> Network:
        outlets, _, per_outlet = text.lower().partition("x")
        return cls(int(outlets), int(per_outlet))

    @property
    def articles(self) -> int:
        return self.outlets * self.per_outlet

    def __str__(self) -> str:
        return f"{self.outlets:,} x {self.per_outlet:,}"


@dataclass
class Row:
    """One network, one database: newsflow ingest and the pipeline alone."""

    network: str
    db: str
    load: float  # 1-minute load average when the ingest started
    wall_s: float = 0.0
    flow_s: float = 0.0
    articles: int = 0
    expected: int = 0
    feeds_fetched: int = 0
    feeds: int = 0
    failed_feeds: int = 0
    failed_pages: int = 0
    peak_rss_mib: float = 0.0
    cpu_s: float = 0.0
    task_runs: int = 0
    task_states: str = ""
    recorded_after_s: float | None = None
    flow_state: str = ""
    alone_s: float | None = None
    alone_load: float | None = None
    notes: str = ""

    @property
    def rate(self) -> float:
        return self.articles / self.flow_s if self.flow_s else 0.0

    @property
    def prefect_share(self) -> float | None:
        if self.alone_s is None or not self.flow_s:
            return None
        return 1 - self.alone_s / self.flow_s


# -- one network -------------------------------------------------------------------------------


@contextlib.contextmanager
def serve_network(network: Network, work: Path) -> Iterator[Path]:
    """Write the network's site, serve each outlet on its own address; yield the feeds file."""
    site_dir = work / f"site-{network.outlets}x{network.per_outlet}"
    site_dir.mkdir()
    started = time.perf_counter()
    site = write_site(site_dir, SiteSpec(feeds=network.outlets, per_feed=network.per_outlet))
    say(network, f"site written in {time.perf_counter() - started:.0f} s")
    hosts = [loopback_address(k) for k in range(network.outlets)]
    try:
        with FastServer(site_dir, hosts) as server:
            feeds_file = work / f"feeds-{network.outlets}x{network.per_outlet}.toml"
            feeds_file.write_text(
                "".join(
                    f'[[feeds]]\nurl = "{server.base_urls[host]}{path}"\nname = "Gazette {k}"\n\n'
                    for k, (host, path) in enumerate(zip(hosts, site.feed_paths, strict=True))
                ),
                encoding="utf-8",
            )
            yield feeds_file
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)


def ingest(
    network: Network, db: str, database_url: str, feeds_file: Path, env: dict[str, str], args: Any
) -> Row:
    """``newsflow ingest`` once; what it stored, what it cost, what Prefect recorded."""
    row = Row(str(network), db, os.getloadavg()[0], expected=network.articles)
    argv = [str(NEWSFLOW), "ingest", "--feeds", str(feeds_file), "--db", database_url]
    label = f"ingest-{network.outlets}x{network.per_outlet}-{db}"
    try:
        watched = run_watched(argv, {**env, **NEWSFLOW_ENV}, args.work, label, args.timeout)
    except (RuntimeError, TimeoutError) as exc:
        row.notes = "FAILED: " + " ".join(str(exc).split())[-300:]
        return row
    api = env["PREFECT_API_URL"]
    flow_run, row.task_runs, _ = prefect_flow_run(api, watched.started)
    started, ended = _timestamp(flow_run.get("start_time")), _timestamp(flow_run.get("end_time"))
    row.wall_s = watched.ended - watched.started
    row.flow_s = (ended - started) if started and ended else row.wall_s
    row.flow_state = (flow_run.get("state") or {}).get("name", "")
    row.peak_rss_mib = watched.peak_tree_rss_mib
    row.cpu_s = watched.cpu_s
    row.articles = count_articles(database_url)
    row.feeds, row.feeds_fetched, row.failed_feeds = feed_counts(database_url)
    states, row.recorded_after_s = recorded(api, flow_run["id"], row.task_runs, watched.ended)
    row.task_states = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
    row.failed_pages, first_error = failed_pages(api, flow_run["id"])
    if first_error:
        row.notes += f"first error: {first_error[:160]}"
    return row


def failed_pages(api: str, flow_run_id: str) -> tuple[int, str | None]:
    """Failed pages summed over the run's ``ingest-feeds`` artifact, and a first error."""
    with httpx.Client(base_url=api, timeout=60) as client:
        found = client.post(
            "/artifacts/filter",
            json={
                "artifacts": {
                    "flow_run_id": {"any_": [flow_run_id]},
                    "key": {"any_": ["ingest-feeds"]},
                }
            },
        )
        found.raise_for_status()
    rows: list[dict[str, Any]] = []
    for artifact in found.json():
        data = artifact.get("data")
        rows += json.loads(data) if isinstance(data, str) else (data or [])
    errors = [r["error"] for r in rows if r.get("error")]
    return sum(int(r.get("failed_pages") or 0) for r in rows), errors[0] if errors else None


def alone(database_url: str, feeds_file: Path, work: Path, timeout: float) -> tuple[float, float]:
    """The pipeline without Prefect on the same feeds: its seconds, and the load it began at."""
    load = os.getloadavg()[0]
    argv = [sys.executable, str(WORKERS), "pipeline", str(feeds_file), database_url]
    env = {**os.environ, **NEWSFLOW_ENV}
    watched = run_watched(argv, env, work, f"alone-{time.monotonic_ns()}", timeout)
    answer = json.loads(watched.stdout.read_text().strip().splitlines()[-1])
    return float(answer["seconds"]), load


def feed_counts(database_url: str) -> tuple[int, int, int]:
    """Feeds in the store, feeds fetched (a last fetch recorded), feeds whose fetch failed."""
    query = (
        "SELECT count(*), count(last_fetched_at), "
        "coalesce(sum(CASE WHEN last_status = 'error' THEN 1 ELSE 0 END), 0) FROM feeds"
    )
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            total, fetched, failed = db.execute(query).fetchone()
    else:
        import psycopg

        with psycopg.connect(database_url) as db:
            total, fetched, failed = db.execute(query).fetchone() or (0, 0, 0)
    return int(total), int(fetched), int(failed)


def recorded(
    api: str, flow_run_id: str, expected: int, since: float, timeout: float = 1800
) -> tuple[dict[str, int], float | None]:
    """Poll until the server has ``expected`` task runs of the flow run in a final state; the
    count per state, and the seconds after ``since`` (a time.time()) it took."""
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    with httpx.Client(base_url=api, timeout=60) as client:
        while time.monotonic() < deadline:
            states = {}
            for offset in range(0, max(expected, 1), 200):
                page = client.post("/task_runs/filter", json={**body, "offset": offset})
                page.raise_for_status()
                for task_run in page.json():
                    kind = task_run.get("state_type") or "NONE"
                    states[kind] = states.get(kind, 0) + 1
            if sum(n for k, n in states.items() if k in FINAL) >= expected:
                return states, time.time() - since
            time.sleep(0.5)
    return states, None


def _timestamp(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def say(what: object, message: str) -> None:
    print(f"[{what}] {message}", file=sys.stderr, flush=True)


# -- the run -----------------------------------------------------------------------------------


@contextlib.contextmanager
def prefect_server(
    work: Path, db: str, pg_url: str, extra: dict[str, str]
) -> Iterator[dict[str, str]]:
    """A fresh Prefect server on SQLite or on a temporary Postgres database."""
    from flows.localserver import local_prefect_server

    home = work / f"prefect-{db}-{time.monotonic_ns()}"
    home.mkdir()
    if db == "sqlite":
        with local_prefect_server(home, extra_env=extra) as env:
            yield env
        return
    with temp_postgres(pg_url, f"prefect_bench_{os.getpid()}_{time.monotonic_ns()}") as url:
        async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        server_env = {**extra, "PREFECT_SERVER_DATABASE_CONNECTION_URL": async_url}
        with local_prefect_server(home, extra_env=server_env) as env:
            yield env


def run(args: argparse.Namespace) -> dict[str, Any]:
    networks = [Network.parse(n) for n in args.networks]
    report: dict[str, Any] = {"machine": machine(), "rows": [], "prefect_db": args.prefect_db}
    extra = (
        {name: str(args.recorder_batch) for name in RECORDER_SETTINGS}
        if args.recorder_batch
        else {}
    )
    report["server_settings"] = extra
    with prefect_server(args.work, args.prefect_db, args.pg_url, extra) as prefect_env:
        for network in networks:
            with serve_network(network, args.work) as feeds_file:
                for db in args.dbs:
                    with database(db, args) as (url, alone_url):
                        say(network, f"newsflow ingest, {db}")
                        row = ingest(network, db, url, feeds_file, prefect_env, args)
                        say(network, f"{db}: {row.articles:,} stored in {row.wall_s:.0f} s")
                        if not args.no_direct and alone_url:
                            with contextlib.suppress(RuntimeError, TimeoutError):
                                row.alone_s, row.alone_load = alone(
                                    alone_url, feeds_file, args.work, args.timeout
                                )
                        report["rows"].append(
                            asdict(row) | {"rate": row.rate, "prefect_share": row.prefect_share}
                        )
    return report


@contextlib.contextmanager
def database(db: str, args: argparse.Namespace) -> Iterator[tuple[str, str | None]]:
    """A fresh newsflow database for the ingest and another for the pipeline alone."""
    stamp = time.monotonic_ns()
    if db == "sqlite":
        yield (
            f"sqlite:///{args.work / f'ingest-{stamp}.db'}",
            f"sqlite:///{args.work / f'alone-{stamp}.db'}",
        )
        return
    with (
        temp_postgres(args.pg_url, f"newsflow_many_{os.getpid()}_{stamp}") as url,
        temp_postgres(args.pg_url, f"newsflow_alone_{os.getpid()}_{stamp}") as alone_url,
    ):
        yield url, alone_url


# -- the recorder ------------------------------------------------------------------------------

RECORDER_FLOW = """
import sys
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

@task
def noop(n: int) -> int:
    return n

@flow(name="recorder-check", task_runner=ThreadPoolTaskRunner(max_workers=16), persist_result=False)
def many(n: int) -> None:
    noop.map(range(n)).wait()

many(int(sys.argv[1]))
"""


def recorder(args: argparse.Namespace) -> dict[str, Any]:
    script = args.work / "recorder_flow.py"
    script.write_text(RECORDER_FLOW, encoding="utf-8")
    report: dict[str, Any] = {"machine": machine(), "recorder": []}
    for prefect_db in args.prefect_dbs:
        for batch in args.batch:
            extra = {name: str(batch) for name in RECORDER_SETTINGS}
            with prefect_server(args.work, prefect_db, args.pg_url, extra) as env:
                for count in args.task_runs:
                    load = os.getloadavg()[0]
                    label = f"recorder-{prefect_db}-{batch}-{count}"
                    try:
                        watched = run_watched(
                            [sys.executable, str(script), str(count)],
                            env,
                            args.work,
                            label,
                            args.timeout,
                        )
                    except (RuntimeError, TimeoutError) as exc:
                        say(label, f"FAILED: {exc}")
                        continue
                    flow_run, _, _ = prefect_flow_run_named(env["PREFECT_API_URL"], watched.started)
                    ended = _timestamp(flow_run.get("end_time")) or watched.ended
                    started = _timestamp(flow_run.get("start_time")) or watched.started
                    states, lag = recorded(env["PREFECT_API_URL"], flow_run["id"], count, ended)
                    entry = {
                        "prefect_db": prefect_db,
                        "batch": batch,
                        "task_runs": count,
                        "flow_s": ended - started,
                        "recorded_after_flow_end_s": lag,
                        "recorded": sum(states.values()),
                        "load": load,
                    }
                    say(label, json.dumps(entry))
                    report["recorder"].append(entry)
    return report


def prefect_flow_run_named(api: str, since: float) -> tuple[dict[str, Any], int, dict[str, int]]:
    """The recorder-check flow run started after ``since``."""
    after = datetime.fromtimestamp(since - 1, UTC).isoformat()
    with httpx.Client(base_url=api, timeout=60) as client:
        found = client.post(
            "/flow_runs/filter",
            json={
                "flows": {"name": {"any_": ["recorder-check"]}},
                "flow_runs": {"start_time": {"after_": after}},
                "sort": "START_TIME_DESC",
                "limit": 1,
            },
        )
        found.raise_for_status()
        return found.json()[0], 0, {}


# -- output ------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# newsflow with many feeds, {m['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}.",
    ]
    if report.get("rows"):
        settings = ", ".join(f"{k}={v}" for k, v in report["server_settings"].items()) or "defaults"
        lines += [
            f"Prefect server on {report['prefect_db']} ({settings}); newsflow's defaults.",
            "",
            "| outlets x articles | db | wall s | flow run s | stored | feeds fetched "
            "| failed pages | articles/s "
            "| peak RSS MiB | task runs | recorded after exit s | pipeline alone s "
            "| Prefect share | load (ingest / alone) | notes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in report["rows"]:
            share = r["prefect_share"]
            lines.append(
                f"| {r['network']} | {r['db']} | {_num(r['wall_s'])} | {_num(r['flow_s'])} | "
                f"{r['articles']:,} of {r['expected']:,} | "
                f"{r['feeds_fetched']:,} of {r['feeds']:,} | {r.get('failed_pages', 0)} "
                f"| {_num(r['rate'], 1)} | {_num(r['peak_rss_mib'])} | {r['task_runs']} "
                f"({r['task_states']}) | {_num(r['recorded_after_s'], 1)} | {_num(r['alone_s'])} | "
                f"{'–' if share is None else f'{100 * share:.0f} %'} | {r['load']:.1f} / "
                f"{_num(r['alone_load'], 1)} | {r['flow_state']} {r['notes']} |"
            )
        lines += ["", *ratios(report["rows"])]
    if report.get("recorder"):
        lines += [
            "",
            "| Prefect server db | recorder batch sizes | task runs | flow run s "
            "| all recorded after the flow ended, s | load |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for e in report["recorder"]:
            lines.append(
                f"| {e['prefect_db']} | {e['batch']} | {e['task_runs']:,} | "
                f"{_num(e['flow_s'], 1)} | "
                f"{_num(e['recorded_after_flow_end_s'], 1)} | {e['load']:.1f} |"
            )
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """Wall time of the most outlets against the fewest at the same article count, per db."""
    out = []
    for db in sorted({r["db"] for r in rows}):
        mine = [r for r in rows if r["db"] == db and r["wall_s"]]
        by_articles: dict[int, list[dict[str, Any]]] = {}
        for r in mine:
            by_articles.setdefault(r["expected"], []).append(r)
        for articles, group in sorted(by_articles.items()):
            if len(group) < 2:
                continue
            group.sort(key=lambda r: int(r["network"].split(" x ")[0].replace(",", "")))
            fewest, most = group[0], group[-1]
            out.append(
                f"- {db}, {articles:,} articles: wall time {most['network']} / {fewest['network']} "
                f"= {most['wall_s'] / fewest['wall_s']:.2f}"
            )
    return out


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=["run", "recorder"], default="run")
    parser.add_argument(
        "--networks", nargs="+", default=list(DEFAULT_NETWORKS), help="OUTLETSxARTICLES"
    )
    parser.add_argument(
        "--dbs", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--no-direct", action="store_true", help="skip the pipeline alone")
    parser.add_argument("--prefect-db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--recorder-batch", type=int, help="recorder batch sizes on the server")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="server for temporary databases")
    parser.add_argument("--task-runs", type=int, nargs="+", default=[1000], help="recorder")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 200], help="recorder")
    parser.add_argument(
        "--prefect-dbs", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per run at most")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    args.work = Path(tempfile.mkdtemp(prefix="newsflow-many-feeds-"))
    try:
        report = recorder(args) if args.command == "recorder" else run(args)
    finally:
        if args.keep:
            print(f"kept {args.work}", file=sys.stderr)
        else:
            shutil.rmtree(args.work, ignore_errors=True)
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
