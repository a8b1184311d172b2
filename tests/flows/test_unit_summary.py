"""The one INFO line a task of several feeds logs instead of a line per feed (#17)."""

from __future__ import annotations

import pytest

from flows.ingest_flow import unit_summary
from ingest.model import FeedResult, FeedStatus, PageCounts


def feed(n: int, status: FeedStatus, **pages: int) -> FeedResult:
    return FeedResult(f"https://f{n}.example/rss", None, status, pages=PageCounts(**pages))


@pytest.mark.parametrize(
    ("results", "line"),
    [
        pytest.param(
            [feed(1, FeedStatus.OK, new=2), feed(2, FeedStatus.OK, new=3, duplicates=1)],
            "2 feeds: 2 ok; 5 new, 0 updated, 1 duplicates, 0 failed pages, "
            "0 disallowed by robots.txt, 0 left for the next run",
            id="all-ok",
        ),
        pytest.param(
            [
                feed(1, FeedStatus.NOT_MODIFIED),
                feed(2, FeedStatus.FAILED),
                feed(3, FeedStatus.NOT_MODIFIED),
                feed(4, FeedStatus.OK, new=1, failed_pages=2, disallowed=1, deferred=4),
            ],
            "4 feeds: 2 not_modified, 1 error, 1 ok; 1 new, 0 updated, 0 duplicates, "
            "2 failed pages, 1 disallowed by robots.txt, 4 left for the next run",
            id="mixed-most-common-first",
        ),
    ],
)
def test_a_unit_summary_counts_every_feed_and_page(results: list[FeedResult], line: str) -> None:
    assert unit_summary(results) == line
