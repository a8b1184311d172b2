"""WARC file progress: started, stepped, finished, failed and resumed, on both engines."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from ingest.backfill.days import DayRange
from ingest.backfill.warc_pages import WarcCounts, WarcFileStatus, WarcProgress, selection_scope
from storage.warc_files import file_progress, record_progress, start_file

DAYS = DayRange(date(2021, 9, 14), date(2021, 9, 16))
URL = "https://data.example/crawl-data/CC-NEWS/2021/09/CC-NEWS-20210914000000-00001.warc.gz"


def test_a_file_steps_fails_and_resumes_where_it_stopped(engine: Engine) -> None:
    scope = selection_scope(frozenset({"harbour-news.example"}), DAYS)
    assert file_progress(engine, scope, [URL]) == {}
    assert start_file(engine, source="ccnews", url=URL, scope=scope, days=DAYS) == WarcProgress()

    step = WarcProgress(
        counts=WarcCounts(records=5000, kept=50, stored=48, duplicates=1, out_of_range=1),
        bytes_read=1_000_000,
        resume_offset=999_000,
    )
    record_progress(engine, url=URL, scope=scope, progress=step)
    failed = WarcProgress(
        WarcFileStatus.FAILED, step.counts, step.bytes_read, step.resume_offset, "cut short"
    )
    record_progress(engine, url=URL, scope=scope, progress=failed)
    assert file_progress(engine, scope, [URL]) == {URL: failed}

    # The next run starts it again from its offset, with its counts.
    resumed = start_file(engine, source="ccnews", url=URL, scope=scope, days=DAYS)
    assert resumed == WarcProgress(WarcFileStatus.RUNNING, step.counts, 1_000_000, 999_000)
    done = WarcProgress(
        WarcFileStatus.DONE, step.counts + WarcCounts(records=10), 2_000_000, 2_000_000
    )
    record_progress(engine, url=URL, scope=scope, progress=done)
    assert file_progress(engine, scope, [URL, "other"]) == {URL: done}


@pytest.mark.parametrize(
    ("sites", "days"),
    [
        pytest.param(frozenset({"valley-bote.example"}), DAYS, id="other-sites"),
        pytest.param(None, DAYS, id="all-sites"),
        pytest.param(
            frozenset({"harbour-news.example"}),
            DayRange(date(2021, 9, 14), date(2021, 9, 17)),
            id="other-days",
        ),
    ],
)
def test_a_file_read_for_other_sites_or_days_is_other_work(
    engine: Engine, sites: frozenset[str] | None, days: DayRange
) -> None:
    first = selection_scope(frozenset({"harbour-news.example"}), DAYS)
    start_file(engine, source="ccnews", url=URL, scope=first, days=DAYS)
    record_progress(engine, url=URL, scope=first, progress=WarcProgress(WarcFileStatus.DONE))
    other = selection_scope(sites, days)
    assert other != first
    assert file_progress(engine, other, [URL]) == {}
    assert selection_scope(frozenset({"harbour-news.example"}), DAYS) == first  # stable
