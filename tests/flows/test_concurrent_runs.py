"""Overlapping and killed runs: real ``newsflow ingest`` processes on one database.

Each process talks to the session's Prefect test server (PREFECT_API_URL), as runs from a
scheduler and a person would. Four at once must finish with no error and no duplicate; five
SIGKILLs at random moments followed by one more run must leave exactly the expected rows.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import big_site
import pytest
from sqlalchemy import text

from flows.demo.server import SiteServer
from storage.db import ensure_schema, make_engine, read_only

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]
NEWSFLOW = Path(sys.executable).parent / "newsflow"
FEEDS, ITEMS = 4, 120


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[SiteServer, int]]:
    root = tmp_path / "site"
    expected = big_site.write_site(root, FEEDS, ITEMS)
    with SiteServer(root) as server:
        yield server, expected


def _env() -> dict[str, str]:
    from prefect.settings import get_current_settings

    env = dict(os.environ)
    env["PREFECT_API_URL"] = str(get_current_settings().api.url)
    env["NEWSFLOW_ALLOW_PRIVATE_NETWORKS"] = "true"
    return env


def _start(feeds: Path, db_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(NEWSFLOW), "ingest", "--feeds", str(feeds), "--db", db_url],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with read_only(engine).connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM articles")).scalar_one())
    finally:
        engine.dispose()


def _counts(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    ensure_schema(engine)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT count(*), count(DISTINCT canonical_url) FROM articles")
            )
            total, distinct = rows.one()
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            return int(total), int(distinct)
    finally:
        engine.dispose()


def test_four_overlapping_runs_no_error_no_duplicate(
    site: tuple[SiteServer, int], tmp_path: Path, db_url: str
) -> None:
    server, expected = site
    # Overlapping feed lists, so runs both share feeds (leases) and race on the same rows.
    lists = [[0, 1, 2, 3], [0, 1], [1, 2], [3, 0]]
    procs = []
    for n, feeds in enumerate(lists):
        path = tmp_path / f"feeds{n}.toml"
        path.write_text(big_site.feeds_toml(server.base_url, feeds), encoding="utf-8")
        procs.append(_start(path, db_url))
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err and "database is locked" not in err, err[-3000:]
    assert _counts(db_url) == (expected, expected)


def test_killed_runs_leave_a_consistent_store_and_the_next_run_completes(
    site: tuple[SiteServer, int], tmp_path: Path, db_url: str
) -> None:
    server, expected = site
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(big_site.feeds_toml(server.base_url, list(range(FEEDS))), encoding="utf-8")
    rng = random.Random(20261128)
    killed_mid_write = 0
    history = []
    for attempt in range(5):
        before, _ = _counts(db_url)
        proc = _start(feeds, db_url)
        if attempt == 0:
            time.sleep(1.5)  # during Prefect's start-up, before any write
        else:
            # Mid-write: as soon as this run has committed its first batch, or a little later.
            target = before + rng.randint(1, 60)
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if _stored(db_url) >= target:
                    break
                time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_write += attempt > 0
        proc.communicate(timeout=60)
        total, distinct = _counts(db_url)  # consistent after every kill
        history.append((before, total, proc.returncode))
        assert total == distinct <= expected
    assert killed_mid_write >= 3, (
        history
    )  # the kills really landed while articles were being written
    final = _start(feeds, db_url)
    _out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err[-3000:]
    assert _counts(db_url) == (expected, expected)
