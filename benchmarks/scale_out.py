"""Scale-out check: a Postgres-backed Prefect server, two process workers, 200 sharded feeds.

    .venv/bin/python benchmarks/scale_out.py [--feeds 200] [--items 5] [--pg postgresql://postgres@127.0.0.1:5432]

Everything runs on loopback: a generated site of FEEDS feeds x ITEMS articles, a Prefect server
whose own database is a fresh Postgres database (PREFECT_SERVER_DATABASE_CONNECTION_URL), a
fresh Postgres database for newsflow, a `process` work pool with two workers, and one ingest
flow run per shard (shard 0/2 and 1/2). It checks that every article is stored exactly once and
that both workers ran a shard, and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "flows"))

import big_site  # noqa: E402

from flows.demo.server import SiteServer  # noqa: E402
from flows.localserver import PREFECT, local_prefect_server, wait_for_flow_runs  # noqa: E402

SHARDS_YAML = """
name: newsflow-shards
pull:
  - prefect.deployments.steps.set_working_directory:
      directory: "{root}"
deployments:
  - name: shard-0-of-2
    entrypoint: flows/ingest_flow.py:ingest
    parameters: {{shard: 0, shards: 2}}
    concurrency_limit: {{limit: 1, collision_strategy: CANCEL_NEW}}
    work_pool: {{name: newsflow}}
  - name: shard-1-of-2
    entrypoint: flows/ingest_flow.py:ingest
    parameters: {{shard: 1, shards: 2}}
    concurrency_limit: {{limit: 1, collision_strategy: CANCEL_NEW}}
    work_pool: {{name: newsflow}}
"""


def create_database(admin_url: str, name: str) -> None:
    engine = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    prefect_db, news_db = f"prefect_scale_{suffix}", f"newsflow_scale_{suffix}"
    create_database(args.pg, prefect_db)
    create_database(args.pg, news_db)
    news_url = f"{args.pg}/{news_db}"
    async_pg = args.pg.replace("+psycopg", "+asyncpg")
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            root = tmp / "site"
            expected = big_site.write_site(root, args.feeds, args.items)
            with (
                SiteServer(root) as site,
                local_prefect_server(
                    tmp,
                    extra_env={
                        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"{async_pg}/{prefect_db}"
                    },
                ) as env,
            ):
                feeds = tmp / "feeds.toml"
                feeds.write_text(
                    big_site.feeds_toml(site.base_url, list(range(args.feeds))), encoding="utf-8"
                )
                env = dict(
                    env,
                    NEWSFLOW_HOME=str(ROOT),
                    NEWSFLOW_DATABASE_URL=news_url,
                    NEWSFLOW_FEEDS=str(feeds),
                    NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true",
                )
                run = lambda *a: subprocess.run(  # noqa: E731
                    [str(PREFECT), *a],
                    env=env,
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                run("work-pool", "create", "newsflow", "--type", "process")
                # One deployment per shard: each keeps its own no-overlap limit, and the
                # workers share the shards' runs.
                shard_file = tmp / "prefect-shards.yaml"
                shard_file.write_text(SHARDS_YAML.format(root=ROOT), encoding="utf-8")
                run("deploy", "--all", "--no-prompt", "--prefect-file", str(shard_file))
                logs = [tmp / f"worker{n}.log" for n in range(2)]
                workers = [
                    subprocess.Popen(
                        [
                            str(PREFECT),
                            "worker",
                            "start",
                            "--pool",
                            "newsflow",
                            "--name",
                            f"worker-{n}",
                            "--limit",
                            "1",
                        ],
                        # The worker's environment reaches its flow runs: the site tells
                        # the workers' requests apart by their User-Agent.
                        env=dict(env, NEWSFLOW_USER_AGENT=f"newsflow-scale/worker-{n}"),
                        cwd=ROOT,
                        stdout=logs[n].open("w"),
                        stderr=subprocess.STDOUT,
                    )
                    for n in range(2)
                ]
                started = time.monotonic()
                try:
                    for shard in range(2):
                        run("deployment", "run", f"ingest/shard-{shard}-of-2")
                    runs = [
                        wait_for_flow_runs(
                            env, deployment=f"ingest/shard-{shard}-of-2", timeout=900
                        )[0]
                        for shard in range(2)
                    ]
                finally:
                    for worker in workers:
                        worker.terminate()
                        worker.wait(timeout=60)
                elapsed = time.monotonic() - started
                engine = create_engine(news_url)
                with engine.connect() as conn:
                    total, distinct = conn.execute(
                        text("SELECT count(*), count(DISTINCT canonical_url) FROM articles")
                    ).one()
                engine.dispose()
                with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=30) as client:
                    task_runs = sum(
                        len(
                            client.post(
                                "/task_runs/filter",
                                json={"flow_runs": {"id": {"any_": [r["id"]]}}, "limit": 200},
                            ).json()
                        )
                        for r in runs
                    )
                agents = {r.headers.get("user-agent", "") for r in site.requests}
                did_work = sorted(n for n in range(2) if f"newsflow-scale/worker-{n}" in agents)
                report = {
                    "feeds": args.feeds,
                    "articles_expected": expected,
                    "articles_stored": int(total),
                    "distinct_urls": int(distinct),
                    "flow_runs": [(r["name"], r["state"]["type"]) for r in runs],
                    "task_runs": task_runs,
                    "workers_that_ran_a_shard": did_work,
                    "seconds_from_trigger_to_both_done": round(elapsed, 1),
                }
                print(json.dumps(report, indent=2))
                ok = (
                    int(total) == int(distinct) == expected
                    and len(did_work) == 2
                    and all(state == "COMPLETED" for _, state in report["flow_runs"])
                )
                print("OK" if ok else "FAILED")
                if not ok:
                    sys.exit(1)
    finally:
        drop_database(args.pg, news_db)
        drop_database(args.pg, prefect_db)


if __name__ == "__main__":
    main()
