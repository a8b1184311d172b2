"""Backfill end to end: a site with a sitemap index on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import backfill_site
import pytest

from flows.demo.server import SiteServer
from ingest.errors import ConfigError
from storage.db import make_engine
from storage.repository import ArticleQuery, query_articles

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness", "allow_loopback")]
IN_RANGE = [date(2021, 9, 14), date(2021, 9, 15), date(2021, 9, 16)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "site"
    backfill_site.write_site(root)
    with SiteServer(root, feeds={"/feed.xml": "Harbour News"}) as server:
        backfill_site.write_gzipped_sitemap(root, server.base_url)
        yield server


def run_backfill(site: SiteServer, tmp_path: Path, db_url: str, **kw: Any) -> list[dict[str, Any]]:
    from flows.backfill import backfill

    feeds = tmp_path / "feeds.toml"
    feeds.write_text(site.feeds_toml(), encoding="utf-8")
    params = {"since": "2021-09-14", "until": "2021-09-16", **kw}
    return asyncio.run(backfill(feeds_path=str(feeds), database_url=db_url, **params))


def stored_paths(site: SiteServer, db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        rows = query_articles(engine, ArticleQuery())
    finally:
        engine.dispose()
    return sorted(r["canonical_url"].removeprefix(site.base_url) for r in rows)


def test_sitemap_backfill_stores_exactly_the_range_and_resumes(
    site: SiteServer, tmp_path: Path, db_url: str
) -> None:
    rows = run_backfill(site, tmp_path, db_url)
    assert [r["day"] for r in rows] == [d.isoformat() for d in IN_RANGE]
    assert all(r["status"] == "done" for r in rows)
    assert stored_paths(site, db_url) == sorted(backfill_site.page_path(d) for d in IN_RANGE)

    fetched = {r.path for r in site.requests}
    pages = {p for p in fetched if p.startswith("/news/")}
    assert pages == {backfill_site.page_path(d) for d in IN_RANGE}  # nothing out of range
    assert "/sitemaps/posts-2021-08.xml" not in fetched  # an August sitemap is never opened

    site.clear_requests()
    again = run_backfill(site, tmp_path, db_url)
    assert again == []
    assert site.requests == []  # every day done: nothing fetched at all

    # A wider range fetches only the new days.
    wider = run_backfill(site, tmp_path, db_url, until="2021-09-17")
    assert [r["day"] for r in wider] == ["2021-09-17"]
    assert {r.path for r in site.requests if r.path.startswith("/news/")} == {
        backfill_site.page_path(date(2021, 9, 17))
    }


def test_reprocess_needs_no_network(site: SiteServer, tmp_path: Path, db_url: str) -> None:
    run_backfill(site, tmp_path, db_url)
    site.clear_requests()
    rows = run_backfill(site, tmp_path, db_url, source="reprocess")
    assert [r["day"] for r in rows] == [d.isoformat() for d in IN_RANGE]
    assert sum(r["updated"] for r in rows) == 0  # same extractor, same text: nothing rewritten
    assert site.requests == []


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        pytest.param("2021-09-16", "2021-09-14", "reversed", id="reversed"),
        pytest.param("2021-13-01", "2021-09-14", "is not a date", id="bad-month"),
        pytest.param("2999-01-01", "2999-01-02", "in the future", id="future"),
    ],
)
def test_bad_ranges_are_refused_before_any_work(
    site: SiteServer, tmp_path: Path, since: str, until: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        run_backfill(site, tmp_path, f"sqlite:///{tmp_path / 'b.db'}", since=since, until=until)
    assert site.requests == []
