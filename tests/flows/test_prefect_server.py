"""Against a real ``prefect server start`` on loopback: deploy, worker, states, alerts, serve.

The ways people run newsflow: `prefect deploy --all` from prefect.yaml, one process worker, and
deployment runs with parameters (`backfill/manual`, `ingest/scheduled`); what the server then
shows (run and task states) and what `newsflow alerts install` makes it send; and
`newsflow serve` firing a scheduled ingest.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import backfill_site
import httpx
import pytest
from broken_feeds import ALL_FAIL_PATHS, PARTIAL_PATHS, broken_feeds, feeds_toml

from flows.demo.server import SiteServer, serve_demo_site
from flows.localserver import (
    PREFECT,
    local_prefect_server,
    start_deployment_run,
    task_runs,
    wait_for_flow_run,
    wait_for_flow_runs,
)
from storage.db import make_engine
from storage.repository import ArticleQuery, query_articles

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[2]
NEWSFLOW = Path(sys.executable).parent / "newsflow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with local_prefect_server(tmp_path_factory.mktemp("prefect-home")) as env:
        yield env


@pytest.fixture(scope="class")
def deployed(
    server: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """prefect.yaml deployed (`prefect deploy --all`) and one process worker on its pool, for the
    tests of one class: the worker stops before `newsflow serve` registers the same deployment
    names (they keep their work pool, so a worker would take the served runs too).

    Runs take their feeds file and database as parameters; the worker's own NEWSFLOW_* point
    at an empty feeds file and a scratch database, should a schedule fire meanwhile.
    """
    home = tmp_path_factory.mktemp("worker")
    (home / "none.toml").write_text("", encoding="utf-8")
    env = dict(server)
    env.update(
        NEWSFLOW_HOME=str(ROOT),
        NEWSFLOW_DATABASE_URL=f"sqlite:///{home / 'scratch.db'}",
        NEWSFLOW_FEEDS=str(home / "none.toml"),
        NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true",
        PREFECT_WORKER_QUERY_SECONDS="1",  # pick runs up at once (default: every 10 s)
    )
    _run([str(PREFECT), "work-pool", "create", "newsflow", "--type", "process"], env)
    _run([str(PREFECT), "deploy", "--all", "--no-prompt"], env)
    log = home / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [str(PREFECT), "worker", "start", "--pool", "newsflow", "--limit", "2"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            # The worker stops on SIGTERM by sending itself SIGINT, which does nothing where
            # SIGINT is ignored, as it is in a test run started in the background.
            preexec_fn=_default_sigint,
        )
        try:
            yield dict(env, WORKER_LOG=str(log))
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
                pytest.fail(f"the worker did not stop on SIGTERM: {log.read_text()[-2000:]}")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


def _worker_log(env: dict[str, str]) -> str:
    return Path(env["WORKER_LOG"]).read_text(encoding="utf-8")[-4000:]


class _Hook(BaseHTTPRequestHandler):
    """The test's webhook receiver: keeps each POSTed JSON body."""

    received: ClassVar[list[dict[str, Any]]] = []
    arrived: ClassVar[threading.Condition] = threading.Condition()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.arrived:
            self.received.append({"path": self.path, **json.loads(body)})
            self.arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    _Hook.received.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _posts_naming(text: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The POSTs received whose subject names ``text``, waiting until one has come."""
    deadline = time.monotonic() + timeout
    with _Hook.arrived:
        while True:
            found = [p for p in _Hook.received if text in p["subject"]]
            if found or time.monotonic() > deadline:
                return found
            _Hook.arrived.wait(timeout=max(0.0, deadline - time.monotonic()))


def _deployment_run(env: dict[str, str], feeds: Path, db_url: str) -> dict[str, Any]:
    created = start_deployment_run(
        env, "ingest/scheduled", {"feeds_path": str(feeds), "database_url": db_url}
    )
    return wait_for_flow_run(env, created["id"], timeout=180)


class TestDeployedWithAWorker:
    """`prefect deploy --all` and one process worker, as people run newsflow on a server."""

    def test_deploy_worker_and_backfill_manual(
        self, deployed: dict[str, str], tmp_path: Path
    ) -> None:
        root = tmp_path / "site"
        backfill_site.write_site(root)
        with SiteServer(root, feeds={"/feed.xml": "Harbour News"}) as site:
            backfill_site.write_gzipped_sitemap(root, site.base_url)
            feeds = tmp_path / "feeds.toml"
            feeds.write_text(site.feeds_toml(), encoding="utf-8")
            db_url = f"sqlite:///{tmp_path / 'news.db'}"
            listed = _run([str(PREFECT), "deployment", "ls"], deployed)
            for name in ("ingest/scheduled", "backfill/manual", "maintenance/daily"):
                assert name in listed
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
                    "-p",
                    f"feeds_path={feeds}",
                    "-p",
                    f"database_url={db_url}",
                ],
                deployed,
            )
            [run] = wait_for_flow_runs(deployed, deployment="backfill/manual")
            assert run["state"]["type"] == "COMPLETED", _worker_log(deployed)
            assert re.fullmatch(r"backfill-2021-09-14\.\.2021-09-16-[0-9a-f]{4}", run["name"])
            in_range = [date(2021, 9, d) for d in (14, 15, 16)]
            assert _stored(db_url) == sorted(site.url(backfill_site.page_path(d)) for d in in_range)
            pages = {r.path for r in site.requests if r.path.startswith("/news/")}
            assert pages == {backfill_site.page_path(d) for d in in_range}

    def test_partial_and_failed_deployment_runs_and_their_alerts(
        self, deployed: dict[str, str], hook: str, tmp_path: Path
    ) -> None:
        """Issue #13: the states a person sees in the UI, and the alerts that reach them."""
        env = deployed
        installed = _run([str(NEWSFLOW), "alerts", "install", "--webhook", hook], env)
        assert "notification block newsflow-alerts: created" in installed
        again = _run([str(NEWSFLOW), "alerts", "install", "--webhook", hook], env)
        assert again.count(": unchanged") == 4, again  # the block and three automations
        listed = _run([str(NEWSFLOW), "alerts", "list", "--format", "jsonl"], env)
        alerts = {a["name"]: a for a in map(json.loads, listed.splitlines())}
        assert set(alerts) == {
            "newsflow: run failed or partial",
            "newsflow: feed parked",
            "newsflow: extraction health dropped",
        }
        assert all(
            a["enabled"] and a["action"] == "notify via custom-webhook/newsflow-alerts"
            for a in alerts.values()
        )
        assert alerts["newsflow: run failed or partial"]["trigger"] == (
            "prefect.flow-run.{Crashed,Failed,Partial} of flow ingest, backfill, maintenance"
        )

        with serve_demo_site() as site, broken_feeds() as broken:
            good = site.url("/courier/rss.xml")
            mixed, failing = tmp_path / "mixed.toml", tmp_path / "failing.toml"
            mixed.write_text(feeds_toml([good] + [broken + p for p in PARTIAL_PATHS]), "utf-8")
            failing.write_text(feeds_toml([broken + p for p in ALL_FAIL_PATHS]), "utf-8")
            # One after the other: the deployment never overlaps its own runs (CANCEL_NEW).
            partial = _deployment_run(env, mixed, f"sqlite:///{tmp_path / 'mixed.db'}")
            failed = _deployment_run(env, failing, f"sqlite:///{tmp_path / 'failing.db'}")

        # A Partial run: COMPLETED type, the failures in its message, one red bar per broken feed.
        assert (partial["state"]["type"], partial["state"]["name"]) == ("COMPLETED", "Partial"), (
            _worker_log(env)
        )
        message = partial["state"]["message"]
        assert message.startswith("3 of 4 feeds failed: "), message
        where = broken.removeprefix("http://")
        for note in ("missing.xml (not found 404)", "error.xml (server error 500)", "page.html ("):
            assert f"{where}/{note}" in message
        tasks = {name: t["state"]["type"] for name, t in task_runs(env, partial["id"]).items()}
        assert tasks == {
            f"feed-{good.removeprefix('http://')}": "COMPLETED",
            **{f"feed-{where}{p}": "FAILED" for p in PARTIAL_PATHS},
        }
        # Every feed failed: FAILED, the reason as its message.
        assert failed["state"]["type"] == "FAILED", _worker_log(env)
        assert failed["state"]["message"].startswith("every feed failed (2 of 2): ")
        assert set(t["state"]["type"] for t in task_runs(env, failed["id"]).values()) == {"FAILED"}

        # The alerts: each run named with its state message and its page in the new UI, and the
        # feed that was gone (410) reported parked.
        ui = env["PREFECT_API_URL"].removesuffix("/api")
        for run in (partial, failed):
            [post] = _posts_naming(run["name"])
            assert post["path"] == "/hook"
            assert post["subject"] == f"newsflow: {run['name']} is {run['state']['name']}"
            assert run["state"]["message"] in post["body"]
            assert f"Run: {ui}/v2/runs/flow-run/{run['id']}" in post["body"]
            assert "Deployment: ingest/scheduled" in post["body"]
            assert post["text"] == f"{post['subject']}\n{post['body']}"
        [parked] = _posts_naming(f"feed parked: {broken}/gone.xml")
        assert "(1 failure in a row), last error: gone (410)" in parked["body"]
        assert f"newsflow feeds reset {broken}/gone.xml" in parked["body"]
        assert f"Run: {failed['name']} {ui}/v2/runs/flow-run/{failed['id']}" in parked["body"]

        # An event emitted outside any run still makes a readable alert, with no run line.
        feed = "https://news.example/rss"
        problem = (
            "articles with an author fell from 90% to 0% (0 of 6): has the site changed its pages?"
        )
        event = {
            "id": str(uuid4()),
            "occurred": datetime.now(UTC).isoformat(),
            "event": "newsflow.extraction-health.dropped",
            "resource": {"prefect.resource.id": f"newsflow.feed.{feed}"},
            "payload": {"feed": feed, "problem": problem},
        }
        httpx.post(f"{env['PREFECT_API_URL']}/events", json=[event]).raise_for_status()
        [health] = _posts_naming(f"extraction health dropped: {feed}")
        assert health["body"] == f"Extraction health of feed {feed} dropped: {problem}"


def test_alerts_install_refuses_a_missing_block(server: dict[str, str]) -> None:
    result = subprocess.run(
        [str(NEWSFLOW), "alerts", "install", "--block", "no-such-block"],
        env=server,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no block named 'no-such-block' on the Prefect server")


def test_serve_fires_a_scheduled_ingest(server: dict[str, str], tmp_path: Path) -> None:
    with serve_demo_site() as site:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(site.feeds_toml(), encoding="utf-8")
        db_url = f"sqlite:///{tmp_path / 'served.db'}"
        env = dict(server, NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true")
        with (tmp_path / "serve.log").open("w") as log:  # the child keeps its own descriptor
            serve = subprocess.Popen(
                [
                    str(NEWSFLOW),
                    "serve",
                    "--feeds",
                    str(feeds),
                    "--db",
                    db_url,
                    "--interval",
                    "0.25",
                ],
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
