"""``backfill --source ccnews|warc`` end to end: a CC-NEWS-shaped month served on loopback.

The month's WARC files are built with warcio and served with byte ranges under
``crawl-data/CC-NEWS/2021/09/`` by a loopback server that NEWSFLOW_CCNEWS_URL points at.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from warc_site import Page, WarcServer, ccnews_name, day, write_month, write_warc
from warcio.archiveiterator import ArchiveIterator

from flows.cli import main
from flows.export_cmd import export_articles
from storage.db import ensure_schema, make_engine, read_only
from storage.repository import ArticleQuery, query_articles

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness", "allow_loopback")]

OURS = "https://www.harbour-news.example"
VALLEY = "https://valley-bote.example"
OTHER = "https://other-paper.example"  # in the archive, not in the feeds file
FEEDS = f'[[feeds]]\nurl = "{OURS}/feed.xml"\n\n[[feeds]]\nurl = "{VALLEY}/rss"\n'
NEWSFLOW = Path(sys.executable).parent / "newsflow"


def page(site: str, slug: str, published: datetime | None, captured: datetime, **kw: Any) -> Page:
    return Page(f"{site}/news/{slug}.html", published, captured, **kw)


F1, F2, F3, F4, F5 = (
    ccnews_name(day(13, 22), 1),  # captured before the range: never read
    ccnews_name(day(14, 3), 2),
    ccnews_name(day(17, 5), 3),
    ccnews_name(day(19, 23), 4),  # captured within the lag after the range
    ccnews_name(day(20, 1), 5),  # captured after the lag: never read
)
MONTH = {
    F1: [page(OURS, "a-13", day(13), day(13, 22))],
    F2: [
        page(OURS, "b-13", day(13), day(14, 3)),  # published before the range
        page(OURS, "c-14", day(14, 1), day(14, 3)),
        page(OURS, "d-undated", None, day(14, 3)),  # captured in the range
        page(OTHER, "e-14", day(14), day(14, 3)),  # not a configured site
        page(VALLEY, "f-15", day(15), day(14, 3)),
        page(OURS, "g-moved", None, day(14, 3), status=301),
    ],
    F3: [
        page(OURS, "h-16", day(16), day(17, 5)),
        page(OURS, "i-17", day(17), day(17, 5)),  # published after the range
        page(VALLEY, "j-undated", None, day(17, 5)),  # captured after the range
        page(OURS, "c-14", day(14, 1), day(17, 5)),  # captured again, unchanged
    ],
    F4: [page(OURS, "k-15", day(15), day(19, 23))],
    F5: [page(OURS, "l-16", day(16), day(20, 1))],
}
IN_RANGE = sorted(
    f"{site}/news/{slug}.html"
    for site, slug in [
        (OURS, "c-14"),
        (OURS, "d-undated"),
        (VALLEY, "f-15"),
        (OURS, "h-16"),
        (OURS, "k-15"),
    ]
)
WARC_DIR = "/crawl-data/CC-NEWS/2021/09/"


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WarcServer]:
    write_month(tmp_path / "root", 2021, 9, MONTH)
    with WarcServer(tmp_path / "root") as server:
        monkeypatch.setenv("NEWSFLOW_CCNEWS_URL", server.base_url)
        yield server


@pytest.fixture
def feeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSFLOW_EXTRACT_PROCESSES", "0")  # threads: no process start-up
    path = tmp_path / "feeds.toml"
    path.write_text(FEEDS, encoding="utf-8")
    return path


def run(feeds: Path, db_url: str, **params: Any) -> Any:
    from flows.backfill import backfill

    options = {"since": "2021-09-14", "until": "2021-09-16", "source": "ccnews", **params}
    return asyncio.run(backfill(feeds_path=str(feeds), database_url=db_url, **options))


def stored(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        return sorted(r["canonical_url"] for r in query_articles(engine, ArticleQuery()))
    finally:
        engine.dispose()


def scalar(db_url: str, sql: str) -> Any:
    engine = make_engine(db_url)
    try:
        with read_only(engine).connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_ccnews_month_stores_exactly_the_in_range_pages_and_a_rerun_downloads_nothing(
    archive: WarcServer, feeds: Path, db_url: str
) -> None:
    rows = run(feeds, db_url)
    assert stored(db_url) == IN_RANGE
    assert [(r["file"], r["status"]) for r in rows] == [(f, "done") for f in (F2, F3, F4)]
    by_file = {r["file"]: r for r in rows}
    assert by_file[F2]["kept"] == 4  # ours and valley's HTML 200 pages; not other-paper's
    assert by_file[F2]["out_of_range"] == 1 and by_file[F2]["stored"] == 3
    assert by_file[F3]["duplicates"] == 1  # c-14 captured again, unchanged: stored once
    assert [r.path for r in archive.requests] == [
        WARC_DIR + "warc.paths.gz",
        *(WARC_DIR + f for f in (F2, F3, F4)),
    ]

    archive.clear()
    assert run(feeds, db_url) == []  # every file done
    assert [r.path for r in archive.requests] == [WARC_DIR + "warc.paths.gz"]  # no WARC file
    assert scalar(db_url, "SELECT count(*) FROM article_revisions") == 0

    from prefect.artifacts import Artifact

    artifact = Artifact.get("backfill-warc")
    assert artifact is not None and F4 in str(artifact.data)


def test_the_configured_archive_may_be_on_loopback_without_allowing_private_networks(
    archive: WarcServer, feeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS")  # NEWSFLOW_CCNEWS_URL names it
    db_url = f"sqlite:///{tmp_path / 'trusted.db'}"
    rows = run(feeds, db_url)
    assert [r["status"] for r in rows] == ["done"] * 3
    assert stored(db_url) == IN_RANGE


def test_all_sites_keeps_every_site_and_shards_split_the_files(
    archive: WarcServer, feeds: Path, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'all.db'}"
    first = run(feeds, db_url, all_sites=True, shard=0, shards=2)
    second = run(feeds, db_url, all_sites=True, shard=1, shards=2)
    assert sorted(r["file"] for r in first + second) == [F2, F3, F4]  # each file once
    assert stored(db_url) == sorted([*IN_RANGE, f"{OTHER}/news/e-14.html"])


def test_a_cut_warc_file_is_reported_and_the_pages_before_the_cut_are_kept(
    feeds: Path, tmp_path: Path, db_url: str
) -> None:
    pages = [page(OURS, f"p{n}", day(15), day(15, 3)) for n in range(5)]
    whole, cut = tmp_path / "whole.warc.gz", tmp_path / "cut.warc.gz"
    write_warc(whole, [page(VALLEY, "whole", day(15), day(15, 3))])
    offsets = write_warc(cut, pages)
    cut.write_bytes(cut.read_bytes()[: offsets[3] + 60])  # inside the fourth page's member

    args = ["backfill", "--source", "warc", "--since", "2021-09-14", "--until", "2021-09-16"]
    args += ["--warc", str(whole), "--warc", str(cut), "--feeds", str(feeds), "--db", db_url]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1  # Partial: one of two files failed
    assert "1 of 2 files failed" in result.stderr
    assert f"cut short inside the record at byte {offsets[3]}" in result.stderr
    assert stored(db_url) == sorted([f"{VALLEY}/news/whole.html", *(p.url for p in pages[:3])])
    status = scalar(db_url, f"SELECT status FROM warc_files WHERE url = '{cut}'")
    offset = scalar(db_url, f"SELECT resume_offset FROM warc_files WHERE url = '{cut}'")
    assert (status, offset) == ("failed", offsets[3])  # a rerun starts at the cut record


def test_export_warc_round_trips_through_source_warc(
    archive: WarcServer, feeds: Path, tmp_path: Path
) -> None:
    first = f"sqlite:///{tmp_path / 'first.db'}"
    run(feeds, first)
    out = tmp_path / "export.warc.gz"
    engine = make_engine(first)
    try:
        result = export_articles(engine, "warc", out, None)
        before = query_articles(engine, ArticleQuery())
    finally:
        engine.dispose()
    assert result.rows == len(IN_RANGE)
    with out.open("rb") as handle:  # another reader agrees, digests included
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
            for r in ArchiveIterator(handle, check_digests=True)
        ]
    assert records[0] == ("warcinfo", None)
    assert sorted(uri for kind, uri in records[1:] if kind == "response") == IN_RANGE

    second = f"sqlite:///{tmp_path / 'second.db'}"
    rows = run(feeds, second, source="warc", warc=[str(out)])
    assert [(r["status"], r["stored"]) for r in rows] == [("done", len(IN_RANGE))]
    engine = make_engine(second)
    try:
        after = query_articles(engine, ArticleQuery())
    finally:
        engine.dispose()
    keys = ("canonical_url", "title", "text", "published_at", "fetched_at", "feed_url")
    assert sorted(tuple(a[k] for k in keys) for a in after) == sorted(
        tuple(a[k] for k in keys) for a in before
    )


# --- a run killed inside a file ----------------------------------------------------------------


BIG = ccnews_name(day(15, 2), 7)
BIG_PAGES = [page(OURS, f"big-{n:03d}", day(15), day(15, 2)) for n in range(130)]


def _env(archive: WarcServer) -> dict[str, str]:
    from prefect.settings import get_current_settings

    env = dict(os.environ)
    env["PREFECT_API_URL"] = str(get_current_settings().api.url)
    env["NEWSFLOW_ALLOW_PRIVATE_NETWORKS"] = "true"
    env["NEWSFLOW_CCNEWS_URL"] = archive.base_url
    env["NEWSFLOW_EXTRACT_PROCESSES"] = "0"
    return env


def _wait_for(condition: Any, what: str, proc: subprocess.Popen[str], limit: float = 240) -> None:
    """Poll ``condition`` until it holds; fail if the process ends or time runs out."""
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_run_killed_inside_a_file_resumes_there_and_stores_each_article_once(
    tmp_path: Path, feeds: Path, db_url: str
) -> None:
    root = tmp_path / "root"
    write_month(root, 2021, 9, {BIG: BIG_PAGES})
    path = root / WARC_DIR.strip("/") / BIG
    offsets = _response_offsets(path)
    engine = make_engine(db_url)
    ensure_schema(engine)
    engine.dispose()
    with WarcServer(root) as archive:
        # The server sends the file up to its 110th page, then waits: the first run has
        # stored two steps of 50 pages and is reading the third when it is killed.
        archive.hold(WARC_DIR + BIG, offsets[110])
        command = [str(NEWSFLOW), "backfill", "--source", "ccnews"]
        command += ["--since", "2021-09-14", "--until", "2021-09-16"]
        command += ["--feeds", str(feeds), "--db", db_url]
        proc = subprocess.Popen(
            command, env=_env(archive), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            _wait_for(archive.holding.is_set, "the file was half sent", proc)
            _wait_for(lambda: _offset(db_url) == offsets[100], "the second step was recorded", proc)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert scalar(db_url, "SELECT count(*) FROM articles") == 100
        archive.released.set()
        archive.hold("", 0)
        archive.clear()

        result = subprocess.run(
            command, env=_env(archive), capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr
        wanted = [r for r in archive.requests if r.path == WARC_DIR + BIG]
        assert [r.range for r in wanted] == [f"bytes={offsets[100]}-"]  # resumed at its step

    assert stored(db_url) == sorted(p.url for p in BIG_PAGES)
    assert scalar(db_url, "SELECT count(DISTINCT canonical_url) FROM articles") == len(BIG_PAGES)
    assert scalar(db_url, "SELECT count(*) FROM article_revisions") == 0
    assert scalar(db_url, "SELECT status FROM warc_files") == "done"
    assert scalar(db_url, "SELECT stored FROM warc_files") == len(BIG_PAGES)


def _response_offsets(path: Path) -> list[int]:
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle)
        return [
            iterator.get_record_offset() for record in iterator if record.rec_type == "response"
        ]


def _offset(db_url: str) -> int | None:
    try:
        value = scalar(db_url, "SELECT resume_offset FROM warc_files")
    except Exception:  # the run has not created its row yet
        return None
    return int(value) if value is not None else None
