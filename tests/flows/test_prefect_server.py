"""Against a real ``prefect server start`` on loopback: deploy, worker, backfill, serve.

The way people run newsflow: `prefect deploy --all` from prefect.yaml, a process worker, a
`backfill/manual` run with parameters; and `newsflow serve` firing a scheduled ingest.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import backfill_site
import pytest

from flows.demo.server import SiteServer, serve_demo_site
from flows.localserver import PREFECT, local_prefect_server, wait_for_flow_runs
from storage.db import make_engine
from storage.repository import ArticleQuery, query_articles

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[2]
NEWSFLOW = Path(sys.executable).parent / "newsflow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with local_prefect_server(tmp_path_factory.mktemp("prefect-home")) as env:
        yield env


def _run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def _stored(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        return sorted(r["canonical_url"] for r in query_articles(engine, ArticleQuery()))
    finally:
        engine.dispose()


def test_deploy_worker_and_backfill_manual(server: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "site"
    backfill_site.write_site(root)
    with SiteServer(root, feeds={"/feed.xml": "Harbour News"}) as site:
        backfill_site.write_gzipped_sitemap(root, site.base_url)
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(site.feeds_toml(), encoding="utf-8")
        db_url = f"sqlite:///{tmp_path / 'news.db'}"
        env = dict(server)
        env.update(
            NEWSFLOW_HOME=str(ROOT),
            NEWSFLOW_DATABASE_URL=db_url,
            NEWSFLOW_FEEDS=str(feeds),
            NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true",
        )
        _run([str(PREFECT), "work-pool", "create", "newsflow", "--type", "process"], env)
        _run([str(PREFECT), "deploy", "--all", "--no-prompt"], env)
        listed = _run([str(PREFECT), "deployment", "ls"], env)
        for name in ("ingest/scheduled", "backfill/manual", "maintenance/daily"):
            assert name in listed
        worker_log = tmp_path / "worker.log"
        with worker_log.open("w") as log:  # the child has its own copy of the descriptor
            worker = subprocess.Popen(
                [str(PREFECT), "worker", "start", "--pool", "newsflow", "--limit", "2"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _run(
                [
                    str(PREFECT),
                    "deployment",
                    "run",
                    "backfill/manual",
                    "-p",
                    "since=2021-09-14",
                    "-p",
                    "until=2021-09-16",
                ],
                env,
            )
            [run] = wait_for_flow_runs(env, deployment="backfill/manual")
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        assert run["state"]["type"] == "COMPLETED", worker_log.read_text()[-4000:]
        assert re.fullmatch(r"backfill-2021-09-14\.\.2021-09-16-[0-9a-f]{4}", run["name"])
        in_range = [date(2021, 9, d) for d in (14, 15, 16)]
        assert _stored(db_url) == sorted(site.url(backfill_site.page_path(d)) for d in in_range)
        pages = {r.path for r in site.requests if r.path.startswith("/news/")}
        assert pages == {backfill_site.page_path(d) for d in in_range}


def test_serve_fires_a_scheduled_ingest(server: dict[str, str], tmp_path: Path) -> None:
    with serve_demo_site() as site:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(site.feeds_toml(), encoding="utf-8")
        db_url = f"sqlite:///{tmp_path / 'served.db'}"
        env = dict(server, NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true")
        command = [str(NEWSFLOW), "serve", "--feeds", str(feeds), "--db", db_url]
        with (tmp_path / "serve.log").open("w") as log:  # the child has its own descriptor
            serve = subprocess.Popen(
                [*command, "--interval", "0.25"],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            [run, *_] = wait_for_flow_runs(
                env,
                deployment="ingest/scheduled",
                timeout=240,
                parameters={"database_url": db_url},
                ignore_cancelled=True,  # runs scheduled while one runs are cancelled (CANCEL_NEW)
            )
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
        assert run["state"]["type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-4000:]
        assert run["name"].startswith("ingest-")
        assert len(_stored(db_url)) == 8  # the demo site's articles
