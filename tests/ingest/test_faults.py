"""The fault catalogue of issue 4, at the pipeline level: every fault route of
``faultserver.py`` goes through ``process_feed`` at once, through one shared Fetcher, into one
real SQLite store. Each must give a clear error or a clean result in bounded time and memory,
and no bad feed may change what another one gets (fetcher-level cases are in test_http.py).

The batch runs once per module in a child process (``faultbatch.py``), so its peak memory is
measured on a fresh process; the tests below read its outcomes and the database it wrote.
Scheduling (backoff, parking, Retry-After) is driven in-process with an injected clock.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from faultbatch import HTTP
from faultserver import (
    FAULTS,
    GOOD_ARTICLES,
    HUGE_TITLE_ITEMS,
    IMPOSSIBLE_DATES,
    MANY_ITEMS,
    FaultServer,
)

from ingest.fetch.client import Fetcher
from ingest.model import FeedSource, FeedState
from ingest.pipeline import PipelineConfig, process_feed
from storage.db import ensure_schema, make_engine
from storage.outcomes import record_outcome
from storage.repository import SqlStore, feed_states, sync_feeds

HERE = Path(__file__).parent
MiB = 1 << 20
TOTAL_TIMEOUT = HTTP.total_timeout

# Generous bounds: robustness properties, not speed benchmarks. Measured on a 2-CPU machine:
# the batch takes about 12 s, nearly all of it storing the 10,000-item feed (about 0.9 ms an
# article); its peak RSS (the child's own VmHWM) is 256-293 MiB, quiet or beside two busy
# loops, of which about 110 MiB is the interpreter and libraries and about 100 MiB the
# language-identification model. Before that model was loaded under a lock, each extraction
# thread loaded its own copy and the peak was 550 MiB. Figures above 600 MiB reported earlier
# under the full suite were getrusage's, which counts the forking pytest session's own peak
# (see faultbatch.peak_rss_bytes). The bound stays well under the 1 GiB of the hostile-feeds
# check and far above what a fault costs, so a regression (an entity expanded, a bomb decoded)
# is what trips it.
BATCH_SECONDS = 90.0
BATCH_PEAK_RSS = 512 * MiB
# A fault detected while fetching ends by the total deadline, whatever else is running.
FETCH_FAULT_SECONDS = TOTAL_TIMEOUT + 3.0

EXECUTABLE = re.compile(r"<script|\son\w+\s*=|javascript:", re.IGNORECASE)
SENTENCE = re.compile(r"[a-z][^\n]{4,300}")


@dataclasses.dataclass
class Batch:
    """What the child process reported, and the database it wrote."""

    seconds: float
    peak_rss_bytes: int
    outcomes: dict[str, dict[str, Any]]  # by route
    db: sqlite3.Connection

    def articles(self, route: str) -> list[dict[str, Any]]:
        """The stored articles of the feed at ``route``, in insertion order."""
        rows = self.db.execute(
            "SELECT a.* FROM articles a JOIN feeds f ON f.id = a.feed_id"
            " WHERE f.url LIKE ? ORDER BY a.id",
            ("%" + route,),
        )
        return [dict(row) for row in rows]


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="module")
def batch(faults: FaultServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    path = tmp_path_factory.mktemp("faults") / "newsflow.db"
    command = [sys.executable, str(HERE / "faultbatch.py"), f"sqlite:///{path}"]
    command += [faults.url(route) for route in FAULTS]
    child = subprocess.run(command, capture_output=True, text=True, timeout=BATCH_SECONDS * 2)
    if child.returncode != 0:
        pytest.fail(f"the batch crashed (exit {child.returncode}):\n{child.stderr[-4000:]}")
    report = json.loads(child.stdout)
    outcomes = {o["feed_url"].removeprefix(faults.url("")): o for o in report["outcomes"]}
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    yield Batch(report["seconds"], report["peak_rss_bytes"], outcomes, db)
    db.close()


# -- one row per fault -------------------------------------------------------------------------

R = re.escape


@pytest.mark.parametrize(
    ("route", "status", "error", "stored"),
    [
        pytest.param("/status-500", "error", R("server error 500"), 0, id="500"),
        pytest.param("/status-404", "error", R("not found (404)"), 0, id="404"),
        pytest.param("/status-410", "error", R("gone (410)"), 0, id="410"),
        pytest.param(
            "/429-seconds", "error", R("rate limited (429), retry after 120 s"), 0, id="429-seconds"
        ),
        pytest.param(
            "/429-date",
            "error",
            r"rate limited \(429\), retry after (29\d|300)(\.\d+)? s",
            0,
            id="429-http-date",
        ),
        pytest.param("/drip", "error", R("timed out after 3 s"), 0, id="drip"),
        pytest.param("/silent", "error", R("timed out after 2 s (read)"), 0, id="never-answers"),
        pytest.param(
            "/redirect-loop", "error", R("too many redirects (more than 5)"), 0, id="redirect-loop"
        ),
        pytest.param(
            "/redirect-chain/0",
            "error",
            R("too many redirects (more than 5)"),
            0,
            id="redirect-chain-8-hops",
        ),
        pytest.param(
            "/too-big-declared",
            "error",
            R("response larger than 10 MiB (Content-Length 1 GiB)"),
            0,
            id="too-big-content-length",
        ),
        pytest.param(
            "/too-big-endless", "error", R("response larger than 10 MiB"), 0, id="too-big-endless"
        ),
        pytest.param("/gzip-bomb", "error", R("response larger than 10 MiB"), 0, id="gzip-bomb"),
        pytest.param(
            "/truncated",
            "error",
            R("connection closed before the body was complete"),
            0,
            id="truncated",
        ),
        pytest.param(
            "/empty",
            "error",
            R("the feed is empty (no content in the response body)"),
            0,
            id="empty-body",
        ),
        pytest.param(
            "/garbage",
            "error",
            R("the document is not a feed: it is not well-formed XML") + r" \(.+\)",
            0,
            id="binary-garbage",
        ),
        pytest.param("/html-with-feed", "ok", None, 2, id="html-autodiscovery"),
        pytest.param(
            "/html-without-feed",
            "error",
            R("expected a feed but got an HTML page"),
            0,
            id="html-without-alternate",
        ),
        pytest.param("/billion-laughs", "ok", None, 1, id="billion-laughs"),
        pytest.param("/quadratic-blowup", "ok", None, 1, id="quadratic-blowup"),
        pytest.param("/xxe", "ok", None, 1, id="xxe"),
        pytest.param("/wrong-charset", "ok", None, 1, id="wrong-charset"),
        pytest.param("/impossible-dates", "ok", None, len(IMPOSSIBLE_DATES), id="impossible-dates"),
        pytest.param("/huge-titles", "ok", None, HUGE_TITLE_ITEMS, id="1mb-titles"),
        pytest.param("/many-items", "ok", None, MANY_ITEMS, id="10k-items"),
        pytest.param("/duplicate-guids", "ok", None, 2, id="duplicate-guids"),
        pytest.param("/scripts", "ok", None, 5, id="scripts-and-handlers"),
        pytest.param("/good/feed.xml", "ok", None, len(GOOD_ARTICLES), id="good-feed"),
    ],
)
def test_each_fault_gives_a_clear_error_or_a_clean_result(
    batch: Batch, route: str, status: str, error: str | None, stored: int
) -> None:
    outcome = batch.outcomes[route]
    assert outcome["status"] == status, outcome
    if error is None:
        assert outcome["error"] is None
    else:
        assert re.fullmatch(error, outcome["error"]), outcome["error"]
    assert len(batch.articles(route)) == stored
    assert outcome["new"] == stored


def test_every_route_is_in_the_table(batch: Batch) -> None:
    assert sorted(batch.outcomes) == sorted(FAULTS)


def test_errors_are_sentences_a_person_reads(batch: Batch) -> None:
    for route, outcome in batch.outcomes.items():
        if outcome["error"] is not None:
            assert SENTENCE.fullmatch(outcome["error"]), (route, outcome["error"])
            assert not re.search(r"httpx|Traceback|Error\(|Exception", outcome["error"]), route


@pytest.mark.parametrize(
    ("route", "seconds"),
    [
        pytest.param("/429-seconds", 120.0, id="seconds"),
        pytest.param("/429-date", 300.0, id="http-date"),
    ],
)
def test_rate_limits_carry_the_retry_after(batch: Batch, route: str, seconds: float) -> None:
    outcome = batch.outcomes[route]
    said = re.search(r"retry after ([\d.]+) s", outcome["error"])
    assert said is not None, outcome["error"]
    assert float(said.group(1)) == pytest.approx(seconds, abs=5)
    assert outcome["error_kind"] == "RateLimitedError"


def test_only_the_gone_feed_is_parked(batch: Batch) -> None:
    parked = sorted(route for route, outcome in batch.outcomes.items() if outcome["parked"])
    assert parked == ["/status-410"]


@pytest.mark.parametrize(
    ("route", "transient"),
    [
        pytest.param("/status-500", True, id="500"),
        pytest.param("/drip", True, id="drip"),
        pytest.param("/silent", True, id="never-answers"),
        pytest.param("/truncated", True, id="truncated"),
        pytest.param("/status-404", False, id="404"),
        pytest.param("/too-big-endless", False, id="too-big"),
        pytest.param("/redirect-loop", False, id="redirect-loop"),
        pytest.param("/garbage", False, id="garbage"),
    ],
)
def test_failures_say_whether_a_retry_may_help(batch: Batch, route: str, transient: bool) -> None:
    kind = batch.outcomes[route]["error_kind"]
    assert (kind in ("TransientFetchError", "RateLimitedError")) is transient, kind


def test_redirects_stop_after_five_hops(batch: Batch, faults: FaultServer) -> None:
    assert faults.served("/redirect-chain/") == [f"/redirect-chain/{hop}" for hop in range(6)]
    assert len(faults.served("/redirect-loop")) == 6


def test_html_page_leads_to_the_feed_it_advertises(batch: Batch, faults: FaultServer) -> None:
    outcome = batch.outcomes["/html-with-feed"]
    assert faults.url("/discovered/feed.xml") in " ".join(outcome["warnings"])
    titles = [a["title"] for a in batch.articles("/html-with-feed")]
    assert titles == ["Found by autodiscovery", "Also found"]


def test_entities_are_never_expanded(batch: Batch) -> None:
    (laughs,) = batch.articles("/billion-laughs")
    assert "lollol" not in laughs["title"] and len(laughs["title"]) < 50
    (blowup,) = batch.articles("/quadratic-blowup")
    assert "aaaa" not in blowup["title"] and len(blowup["title"]) <= 1000


def test_external_entities_read_no_file_and_reach_no_host(
    batch: Batch, faults: FaultServer
) -> None:
    (article,) = batch.articles("/xxe")
    assert article["title"] in ("Host &xxe;", "Host")  # left as written, or dropped
    assert "leaked" not in article["text"]  # the external DTD's entity
    assert faults.internal.connections == 0


def test_wrong_charset_declaration_still_reads_right(batch: Batch) -> None:
    (article,) = batch.articles("/wrong-charset")
    assert article["title"] == "café “quoted”"
    assert article["text"] == "café “quoted”, said the menu."
    assert any("encoding" in w for w in batch.outcomes["/wrong-charset"]["warnings"])


def test_impossible_dates_are_dropped_and_their_text_kept(batch: Batch) -> None:
    articles = batch.articles("/impossible-dates")
    assert [a["published_at"] for a in articles] == [None] * len(IMPOSSIBLE_DATES)
    assert [a["published_raw"] for a in articles] == list(IMPOSSIBLE_DATES)


def test_huge_titles_are_cut_on_character_boundaries(batch: Batch) -> None:
    unit = "aé€𝄞" * 100_000
    for n, article in enumerate(batch.articles("/huge-titles")):
        title = article["title"]
        assert 900 <= len(title) <= 1000
        assert f"{n} {unit}".startswith(title)  # nothing split, nothing replaced


def test_every_item_of_a_long_feed_is_stored(batch: Batch) -> None:
    guids = {a["guid"] for a in batch.articles("/many-items")}
    assert guids == {f"urn:many:{n}" for n in range(MANY_ITEMS)}


def test_repeated_guids_with_different_content_are_both_kept(batch: Batch) -> None:
    articles = batch.articles("/duplicate-guids")
    assert [a["guid"] for a in articles] == ["same", "same"]
    assert [a["text"] for a in articles] == [
        "The first version of events.",
        "Another version entirely.",
    ]


def test_good_feed_stores_exactly_its_articles(batch: Batch, faults: FaultServer) -> None:
    articles = batch.articles("/good/feed.xml")
    expected = [(faults.url(path), title) for path, title, _ in GOOD_ARTICLES]
    assert [(a["canonical_url"], a["title"]) for a in articles] == expected
    for article, (_, _, first_words) in zip(articles, GOOD_ARTICLES, strict=True):
        assert article["text"].startswith(first_words)
        assert article["published_at"].startswith("2026-05-05 08:00:00")
    assert batch.outcomes["/good/feed.xml"]["failed_pages"] == 0


def test_scripts_become_harmless_text(batch: Batch) -> None:
    titles = [a["title"] for a in batch.articles("/scripts")]
    assert titles == [
        "Breaking news",
        "Escaped title",
        "Mixed-case scheme",
        "A link that is code",
        "Hostile page",
    ]


def test_no_stored_column_holds_anything_executable(batch: Batch) -> None:
    """Every text value of every table; raw_pages keeps the fetched bytes verbatim, zlib'd."""
    tables = [
        row[0] for row in batch.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    checked = 0
    for table in tables:
        columns = [row[1] for row in batch.db.execute(f"PRAGMA table_info({table})")]
        for column in columns:
            query = f"SELECT {column} FROM {table} WHERE typeof({column}) = 'text'"
            for (value,) in batch.db.execute(query):
                checked += 1
                assert not EXECUTABLE.search(value), (table, column, value[:200])
    assert checked > MANY_ITEMS  # the scan did see the stored articles


def test_the_batch_ends_in_bounded_time(batch: Batch) -> None:
    assert batch.seconds < BATCH_SECONDS
    for route, outcome in batch.outcomes.items():
        if outcome["status"] == "error":
            assert outcome["seconds"] < FETCH_FAULT_SECONDS, (route, outcome["seconds"])
    # The drip really was cut by the total deadline, not by a read timeout.
    assert batch.outcomes["/drip"]["seconds"] >= TOTAL_TIMEOUT


def test_the_batch_stays_in_bounded_memory(batch: Batch) -> None:
    print(f"fault batch peak RSS {batch.peak_rss_bytes / MiB:.0f} MiB")
    assert batch.peak_rss_bytes < BATCH_PEAK_RSS, f"{batch.peak_rss_bytes / MiB:.0f} MiB"


# -- each bomb alone, under tracemalloc ----------------------------------------------------------


@pytest.fixture
def store_for(tmp_path: Path) -> Iterator[Any]:
    engine = make_engine(f"sqlite:///{tmp_path / 'newsflow.db'}")
    ensure_schema(engine)

    def make(*urls: str) -> SqlStore:
        sync_feeds(engine, [FeedSource(url) for url in urls])
        return SqlStore(engine)

    yield make
    engine.dispose()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("route", "limit"),
    [
        # 64 MiB of zeros on the wire as 64 KiB: decoding stops at the 10 MiB cap.
        pytest.param("/gzip-bomb", 32 * MiB, id="gzip-bomb"),
        pytest.param("/too-big-endless", 32 * MiB, id="endless-body"),
        # Expanded, these are 500 MB (quadratic) and 3 GB (billion laughs) of text.
        pytest.param("/quadratic-blowup", 16 * MiB, id="quadratic-blowup"),
        pytest.param("/billion-laughs", 16 * MiB, id="billion-laughs"),
    ],
)
async def test_a_bomb_alone_stays_in_bounded_memory(
    faults: FaultServer, store_for: Any, route: str, limit: int
) -> None:
    url = faults.url(route)
    store = store_for(url)
    async with Fetcher(HTTP) as fetcher:
        tracemalloc.start()
        try:
            await process_feed(
                FeedSource(url),
                FeedState(url),
                fetcher=fetcher,
                store=store,
                config=PipelineConfig(),
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < limit, f"{peak / MiB:.1f} MiB"


# -- health over many runs (injected clock) -----------------------------------------------------

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def _run_and_record(
    url: str, store: SqlStore, fetcher: Fetcher, config: PipelineConfig, at: datetime
) -> datetime:
    """One scheduled run of one feed, recorded as the ingest flow records it; its next fetch."""
    state = feed_states(store.engine, [url])[url]
    result = await process_feed(
        FeedSource(url), state, fetcher=fetcher, store=store, config=config, now=lambda: at
    )
    assert result.update is not None
    record_outcome(store.engine, [result])
    return result.update.next_fetch_at


@pytest.mark.anyio
async def test_a_feed_failing_for_days_backs_off_then_is_parked(
    faults: FaultServer, store_for: Any
) -> None:
    url = faults.url("/status-500")
    store = store_for(url)
    clock = NOW
    waits: list[timedelta] = []
    parked: list[bool] = []
    async with Fetcher(HTTP) as fetcher:
        for _ in range(12):
            next_fetch = await _run_and_record(url, store, fetcher, PipelineConfig(), clock)
            waits.append(next_fetch - clock)
            parked.append(feed_states(store.engine, [url])[url].parked)
            clock = next_fetch
    minutes = [int(wait.total_seconds() // 60) for wait in waits]
    assert minutes == [15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440, 1440, 1440]
    assert parked == [False] * 9 + [True] * 3
    state = feed_states(store.engine, [url])[url]
    assert state.consecutive_failures == 12
    assert clock - NOW > timedelta(days=5)  # "failing for days"


@pytest.mark.anyio
async def test_retry_after_sets_the_next_fetch(faults: FaultServer, store_for: Any) -> None:
    url = faults.url("/429-seconds")
    store = store_for(url)
    before = len(faults.served("/429-seconds"))
    config = PipelineConfig(base_interval=timedelta(minutes=1))
    async with Fetcher(HTTP) as fetcher:
        next_fetch = await _run_and_record(url, store, fetcher, config, NOW)
    assert next_fetch == NOW + timedelta(seconds=120)
    assert feed_states(store.engine, [url])[url].next_fetch_at == NOW + timedelta(seconds=120)
    assert len(faults.served("/429-seconds")) == before + 1  # asked once: no hot retry loop
