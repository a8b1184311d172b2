"""End to end: the demo site on loopback, the ingest flow, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from flows.demo.server import SiteServer, load_expected, serve_demo_site
from flows.output import jsonable
from storage.db import make_engine
from storage.repository import ArticleQuery, list_feeds, query_articles

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness", "allow_loopback")]

# An article listed by two feeds is stored by whichever feed gets there first.
SHARED = {
    "/courier/2021/09/16/harbour-footbridge-reopens.html": {"/courier/rss.xml", "/courier/atom.xml"}
}
COMPARED = (
    "title",
    "authors",
    "published_at",
    "updated_at",
    "language",
    "description",
    "image_url",
    "tags",
    "site_name",
    "canonical_url",
    "text",
    "word_count",
)


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with serve_demo_site() as server:
        yield server


@pytest.fixture
def feeds_file(site: SiteServer, tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(site.feeds_toml(), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Ran:
    """A finished ingest run: its final state, its table, its task runs' states by name."""

    state: Any
    rows: list[dict[str, Any]]
    tasks: dict[str, str]


def run_flow(feeds_file: Path, db_url: str, **kwargs: Any) -> Ran:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.ingest_flow import ingest

    async def run() -> Ran:
        state = await ingest(
            feeds_path=str(feeds_file), database_url=db_url, return_state=True, **kwargs
        )
        rows = await state.aresult(raise_on_failure=False)
        async with get_client() as client:
            ran = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            task_runs = await client.read_task_runs(flow_run_filter=ran)
        return Ran(state, rows, {t.name: t.state_type.value for t in task_runs if t.state_type})

    return asyncio.run(run())


def stored(db_url: str) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        return [jsonable(r) for r in query_articles(engine, ArticleQuery())]
    finally:
        engine.dispose()


def test_demo_site_is_stored_exactly_and_second_run_is_conditional(
    site: SiteServer, feeds_file: Path, db_url: str
) -> None:
    expected = load_expected(site.base_url)
    ran = run_flow(feeds_file, db_url)
    assert (ran.state.type.value, ran.state.name) == ("COMPLETED", "Completed")
    assert set(ran.tasks.values()) == {"COMPLETED"} and len(ran.tasks) == len(ran.rows)
    rows = {r["feed"].removeprefix(site.base_url): r for r in ran.rows}

    per_feed = expected["counts"]["per_feed"]
    assert {path: rows[path]["failed_pages"] for path in per_feed} == {
        path: c["failed_pages"] for path, c in per_feed.items()
    }
    assert sum(r["new"] for r in rows.values()) == expected["counts"]["totals"]["new"]
    assert sum(r["duplicates"] for r in rows.values()) == expected["counts"]["totals"]["duplicates"]
    assert all(r["status"] == "ok" for r in rows.values())

    articles = {a["canonical_url"].removeprefix(site.base_url): a for a in stored(db_url)}
    assert sorted(articles) == sorted(expected["articles"])
    for path, want in expected["articles"].items():
        got = articles[path]
        assert {k: got[k] for k in COMPARED} == {k: want[k] for k in COMPARED}, path
        feed_path = got["feed_url"].removeprefix(site.base_url)
        assert feed_path in SHARED.get(path, {want["feed_url"]}), path

    # The wire story carried by both outlets is one story; every other article is its own.
    clusters: dict[int, list[str]] = {}
    for path, got in articles.items():
        clusters.setdefault(got["cluster_id"], []).append(path)
    shared = sorted(sorted(paths) for paths in clusters.values() if len(paths) > 1)
    assert shared == sorted(sorted(pair) for pair in expected["near_duplicates"]), clusters

    # Second run: conditional requests only, no page downloaded, no row added.
    site.clear_requests()
    again = run_flow(feeds_file, db_url).rows
    assert {r["status"] for r in again} == {"not_modified"}
    assert sum(r["new"] + r["updated"] for r in again) == 0
    paths = [r.path for r in site.requests]
    assert sorted(paths) == sorted(f["path"] for f in expected["feeds"])
    assert all("if-none-match" in {k.lower() for k in r.headers} for r in site.requests), (
        site.requests
    )
    assert len(stored(db_url)) == len(articles)


def test_cli_ingest_then_articles_jsonl_and_feeds_list(
    site: SiteServer, feeds_file: Path, db_url: str
) -> None:
    from flows.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["ingest", "--feeds", str(feeds_file), "--db", db_url])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["articles", "--db", db_url, "--format", "jsonl"])
    assert listed.exit_code == 0, listed.output
    import json

    objects = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(objects) == load_expected(site.base_url)["counts"]["stored"]
    assert all(
        list(o)
        == [
            "id",
            "url",
            "canonical_url",
            "feed_url",
            "guid",
            "title",
            "authors",
            "published_at",
            "updated_at",
            "language",
            "description",
            "image_url",
            "tags",
            "site_name",
            "text",
            "word_count",
            "content_hash",
            "cluster_id",
            "duplicate_of",
            "fetched_at",
            "paywalled",
        ]
        for o in objects
    )
    feeds = runner.invoke(main, ["feeds", "list", "--db", db_url, "--format", "jsonl"])
    rows = [json.loads(line) for line in feeds.stdout.splitlines()]
    assert {r["last_status"] for r in rows} == {"ok"}
    assert sum(r["article_count"] for r in rows) == len(objects)


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        pytest.param([], 1, id="every-feed-failed"),
        pytest.param(["--fail-on-error"], 1, id="fail-on-error"),
    ],
)
def test_cli_exit_codes_when_feeds_fail(
    site: SiteServer, tmp_path: Path, args: list[str], exit_code: int
) -> None:
    from flows.cli import main

    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nurl = "{site.base_url}/nothing-here.xml"\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["ingest", "--feeds", str(feeds), "--db", f"sqlite:///{tmp_path / 'x.db'}", *args]
    )
    assert result.exit_code == exit_code
    assert "not found (404)" in result.output


def test_cli_exit_zero_when_some_feeds_fail(
    site: SiteServer, feeds_file: Path, tmp_path: Path
) -> None:
    from flows.cli import main

    feeds = tmp_path / "mixed.toml"
    feeds.write_text(
        feeds_file.read_text() + f'\n[[feeds]]\nurl = "{site.base_url}/missing.xml"\n',
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'm.db'}"
    result = CliRunner().invoke(main, ["ingest", "--feeds", str(feeds), "--db", db])
    assert result.exit_code == 0, result.output
    engine = make_engine(db)
    [bad] = [f for f in list_feeds(engine) if f["url"].endswith("/missing.xml")]
    engine.dispose()
    assert (bad["last_status"], bad["last_error"], bad["consecutive_failures"]) == (
        "error",
        "not found (404)",
        1,
    )
    failing = CliRunner().invoke(
        main, ["ingest", "--feeds", str(feeds), "--db", db, "--fail-on-error"]
    )
    assert failing.exit_code == 1


class _Status(BaseHTTPRequestHandler):
    """Broken feeds: 503 and 500 (passing), an HTML page with no feed, 404 for the rest."""

    hits: ClassVar[dict[str, int]] = {}
    STATUS: ClassVar[dict[str, int]] = {"/busy.xml": 503, "/error.xml": 500, "/page.html": 200}
    PAGE = b"<!doctype html><html><body><h1>Welcome</h1><p>No feed here.</p></body></html>"

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        page = self.path == "/page.html"
        self.send_response(
            {"/busy.xml": 503, "/error.xml": 500, "/page.html": 200}.get(self.path, 404)
        )
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.PAGE) if page else 0))
        self.end_headers()
        if page:
            self.wfile.write(self.PAGE)

    def log_message(self, *args: object) -> None:
        pass


def test_only_transient_failures_are_retried_and_recorded_once(tmp_path: Path) -> None:
    _Status.hits.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nurl = "{base}/busy.xml"\n\n[[feeds]]\nurl = "{base}/gone.xml"\n')
    db = f"sqlite:///{tmp_path / 'r.db'}"
    try:
        ran = run_flow(feeds, db)
    finally:
        server.shutdown()
        server.server_close()  # shutdown() only stops the loop; this closes the socket
    rows = {r["feed"]: r for r in ran.rows}
    assert ran.state.type.value == "FAILED"
    assert ran.state.message.startswith("every feed failed (2 of 2): ")
    assert set(ran.tasks.values()) == {"FAILED"}
    assert _Status.hits == {"/busy.xml": 3, "/gone.xml": 1}  # 2 retries for the 503 only
    assert rows[f"{base}/busy.xml"]["error"] == "server error 503"
    engine = make_engine(db)
    failures = {f["url"]: f["consecutive_failures"] for f in list_feeds(engine)}
    engine.dispose()
    assert failures == {f"{base}/busy.xml": 1, f"{base}/gone.xml": 1}


def test_some_feeds_failing_make_a_partial_run_with_their_tasks_failed(
    site: SiteServer, tmp_path: Path
) -> None:
    """Issue #13: one good and three broken feeds (404, 500, an HTML page without a feed)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other = f"http://127.0.0.1:{server.server_address[1]}"
    urls = [f"{site.base_url}/courier/rss.xml"] + [
        f"{other}{path}" for path in ("/missing.xml", "/error.xml", "/page.html")
    ]
    feeds = tmp_path / "mixed.toml"
    feeds.write_text("".join(f'[[feeds]]\nurl = "{url}"\n\n' for url in urls), encoding="utf-8")
    try:
        ran = run_flow(feeds, f"sqlite:///{tmp_path / 'p.db'}")
    finally:
        server.shutdown()
        server.server_close()
    assert (ran.state.type.value, ran.state.name) == ("COMPLETED", "Partial")
    assert ran.state.message.startswith("3 of 4 feeds failed: ")
    assert f"{other.removeprefix('http://')}/missing.xml (not found 404)" in ran.state.message
    names = [f"feed-{url.removeprefix('http://')}" for url in urls]
    assert ran.tasks == dict(zip(names, ["COMPLETED", "FAILED", "FAILED", "FAILED"], strict=True))
    assert [r["status"] for r in ran.rows].count("error") == 3


def test_maintenance_flow_prunes_raw_pages(
    site: SiteServer, feeds_file: Path, tmp_path: Path
) -> None:
    from flows.maintenance import maintenance

    db = f"sqlite:///{tmp_path / 'm.db'}"
    run_flow(feeds_file, db)
    summary = maintenance(database_url=db, raw_page_retention_days=0)
    assert summary["raw_pages_pruned"] == load_expected(site.base_url)["counts"]["stored"]
    assert summary["feeds"] == 3 and summary["parked"] == 0
    assert len(stored(db)) == summary["raw_pages_pruned"]  # the articles stay
