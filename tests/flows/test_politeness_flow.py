"""Politeness through the ingest flow and the command line (issue #14).

A small site on loopback: robots.txt disallows one article, another declares a paywall. The
run's table (and so the ``ingest-feeds`` artifact) and ``newsflow feeds list`` show the
disallowed page; the server's log shows it was never asked for, and who asked for the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.demo.server import SiteServer
from ingest import __version__

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness", "allow_loopback")]

PAYWALL = (
    '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Locked budget",'
    ' "isAccessibleForFree": false, "hasPart": {"@type": "WebPageElement",'
    ' "isAccessibleForFree": false, "cssSelector": ".paywall"}}</script>'
)


def _page(title: str, head: str = "") -> str:
    paragraphs = "".join(
        f"<p>{title}: paragraph {n} says what the council decided about the harbour budget "
        "and what the opposition answered at the meeting on Tuesday evening.</p>"
        for n in range(1, 6)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"{head}</head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "site"
    (root / "news").mkdir(parents=True)
    (root / "members").mkdir()
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /members/\n", encoding="utf-8")
    (root / "news" / "open.html").write_text(_page("Open budget"), encoding="utf-8")
    (root / "news" / "locked.html").write_text(_page("Locked budget", PAYWALL), encoding="utf-8")
    (root / "members" / "secret.html").write_text(_page("Members only"), encoding="utf-8")
    items = "".join(
        f"<item><title>{p}</title><link>{{base}}{p}</link><guid>{p}</guid></item>"
        for p in ("/news/open.html", "/news/locked.html", "/members/secret.html")
    )
    (root / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>'
        f"<link>{{base}}/</link>{items}</channel></rss>",
        encoding="utf-8",
    )
    with SiteServer(root, feeds={"/feed.xml": "Harbour"}) as server:
        yield server


def test_disallowed_pages_in_the_run_table_feeds_list_and_paywall_in_articles(
    site: SiteServer, tmp_path: Path
) -> None:
    from flows.cli import main
    from flows.ingest_flow import ARTIFACT_COLUMNS, ingest

    feeds = tmp_path / "feeds.toml"
    feeds.write_text(site.feeds_toml(), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'p.db'}"

    async def run() -> list[dict[str, Any]]:
        state = await ingest(feeds_path=str(feeds), database_url=db, return_state=True)
        rows: list[dict[str, Any]] = await state.aresult()
        return rows

    [row] = asyncio.run(run())
    assert (row["new"], row["disallowed"], row["failed_pages"], row["deferred"]) == (2, 1, 0, 0)
    assert {"disallowed", "deferred"} <= set(ARTIFACT_COLUMNS)

    paths = [r.path for r in site.requests]
    assert "/members/secret.html" not in paths
    assert paths.count("/robots.txt") == 1
    agents = {r.headers.get("user-agent") for r in site.requests}
    assert agents == {f"newsflow/{__version__}"}

    runner = CliRunner()
    listed = runner.invoke(main, ["feeds", "list", "--db", db, "--format", "jsonl"])
    [feed] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (feed["disallowed"], feed["blocked_by"], feed["last_error"]) == (1, None, None)
    from flows.cli import FEED_KEYS, FEED_TABLE_COLUMNS

    assert "disallowed" in FEED_KEYS and "blocked_by" in FEED_KEYS  # the feeds list table
    assert "disallowed" in FEED_TABLE_COLUMNS  # newsflow ingest's table

    articles = runner.invoke(main, ["articles", "--db", db, "--format", "jsonl"])
    objects = {o["url"].rsplit("/", 1)[1]: o for o in map(json.loads, articles.stdout.splitlines())}
    assert objects["locked.html"]["paywalled"] is True
    assert objects["open.html"]["paywalled"] is None
    keys = list(objects["open.html"])
    assert keys[keys.index("fetched_at") + 1 :] == ["paywalled"]
