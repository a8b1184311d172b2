"""The ingest flow split into shards stores what one unsharded run stores, each feed once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flows.demo.server import serve_demo_site
from storage.db import make_engine
from storage.repository import ArticleQuery, query_articles

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness", "allow_loopback")]


def run(feeds: Path, db: str, **kwargs: Any) -> list[dict[str, Any]]:
    from flows.ingest_flow import ingest

    rows: list[dict[str, Any]] = asyncio.run(
        ingest(feeds_path=str(feeds), database_url=db, **kwargs)
    )
    return rows


def stored_urls(db: str) -> list[str]:
    engine = make_engine(db)
    try:
        return sorted(r["canonical_url"] for r in query_articles(engine, ArticleQuery()))
    finally:
        engine.dispose()


def test_shards_together_equal_one_run(tmp_path: Path) -> None:
    whole, split = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 'split.db'}"
    feeds = tmp_path / "feeds.toml"
    with serve_demo_site() as site:
        feeds.write_text(site.feeds_toml(), encoding="utf-8")
        everything = run(feeds, whole)
        shards = [run(feeds, split, shard=k, shards=3) for k in range(3)]
    fetched = [row["feed"] for rows in shards for row in rows]
    assert sorted(fetched) == sorted(row["feed"] for row in everything)  # each feed once
    assert stored_urls(split) == stored_urls(whole)
