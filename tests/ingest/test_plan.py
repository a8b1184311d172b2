"""ingest/feeds/plan.py: what a run fetches, and in which units of work (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.errors import ConfigError
from ingest.feeds.plan import RunPlan, plan_run, units_of_work
from ingest.feeds.shards import stable_hash
from ingest.model import FeedSource, FeedState, FeedStatus

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
A = FeedSource("https://a.example/rss", "A", tags=("news",))
B = FeedSource("https://b.example/rss", "B", tags=("sport",))
C = FeedSource("https://c.example/rss", "C", tags=("news",))
OFF = FeedSource("https://off.example/rss", enabled=False)


def state(source: FeedSource, **kw: object) -> FeedState:
    return FeedState(source.url, **kw)  # type: ignore[arg-type]


def urls(sources: tuple[FeedSource, ...]) -> list[str]:
    return [s.url for s in sources]


@pytest.mark.parametrize(
    ("states", "kwargs", "fetch", "parked", "not_due"),
    [
        pytest.param({}, {}, [A, B, C], [], [], id="new-feeds-are-all-fetched"),
        pytest.param(
            {A.url: state(A, parked=True)}, {}, [B, C], [A], [], id="parked-is-listed-not-fetched"
        ),
        pytest.param(
            {B.url: state(B, next_fetch_at=NOW + timedelta(minutes=5))},
            {"only_due": True},
            [A, C],
            [],
            [B],
            id="scheduled-run-leaves-feeds-not-due",
        ),
        pytest.param(
            {B.url: state(B, next_fetch_at=NOW + timedelta(minutes=5))},
            {},
            [A, B, C],
            [],
            [],
            id="manual-run-fetches-feeds-not-due",
        ),
        pytest.param(
            {B.url: state(B, next_fetch_at=NOW)},
            {"only_due": True},
            [A, B, C],
            [],
            [],
            id="due-exactly-now-is-fetched",
        ),
        # A feed read 10 s into the last run is due 10 s after this one starts: the run
        # nearest its time reads it, not the one after (the flow passes min_interval / 2).
        pytest.param(
            {B.url: state(B, next_fetch_at=NOW + timedelta(seconds=150))},
            {"only_due": True, "early": timedelta(seconds=150)},
            [A, B, C],
            [],
            [],
            id="due-within-the-early-slack-is-fetched",
        ),
        pytest.param(
            {B.url: state(B, next_fetch_at=NOW + timedelta(seconds=151))},
            {"only_due": True, "early": timedelta(seconds=150)},
            [A, C],
            [],
            [B],
            id="due-beyond-the-early-slack-waits",
        ),
        pytest.param({}, {"tags": ["news"]}, [A, C], [], [], id="tags-select"),
        pytest.param(
            {C.url: state(C, parked=True)},
            {"tags": ["news"]},
            [A],
            [C],
            [],
            id="tags-and-parked",
        ),
    ],
)
def test_plan_run(
    states: dict[str, FeedState],
    kwargs: dict[str, object],
    fetch: list[FeedSource],
    parked: list[FeedSource],
    not_due: list[FeedSource],
) -> None:
    plan = plan_run([A, B, C, OFF], states, NOW, **kwargs)  # type: ignore[arg-type]
    assert (list(plan.fetch), list(plan.parked), list(plan.not_due)) == (fetch, parked, not_due)


def test_shards_split_the_feeds_with_no_overlap() -> None:
    sources = [FeedSource(f"https://site{n}.example/rss") for n in range(40)]
    plans = [plan_run(sources, {}, NOW, shard=(k, 3)) for k in range(3)]
    fetched = [url for plan in plans for url in urls(plan.fetch)]
    assert sorted(fetched) == sorted(s.url for s in sources)
    for k, plan in enumerate(plans):
        assert all(stable_hash(url) % 3 == k for url in urls(plan.fetch))
        assert plan.other_shards == len(sources) - len(plan.fetch)


@pytest.mark.parametrize(
    ("sources", "tags"),
    [
        pytest.param([OFF], None, id="only-disabled-feeds"),
        pytest.param([A, B], ["weather"], id="no-feed-with-the-tag"),
    ],
)
def test_nothing_to_select_is_a_configuration_error(
    sources: list[FeedSource], tags: list[str] | None
) -> None:
    with pytest.raises(ConfigError, match="no enabled feeds"):
        plan_run(sources, {}, NOW, tags=tags)


def test_feeds_leased_elsewhere_are_skipped_and_listed() -> None:
    plan = plan_run([A, B, C], {C.url: state(C, parked=True)}, NOW).leased_elsewhere([B.url])
    assert (urls(plan.fetch), urls(plan.leased)) == ([A.url], [B.url])
    listed = {r.feed_url: r.status for r in plan.unfetched_results()}
    assert listed == {B.url: FeedStatus.SKIPPED, C.url: FeedStatus.PARKED}
    assert not any(status.attempted for status in listed.values())


def site_feeds(sites: int, per_site: int) -> list[FeedSource]:
    return [
        FeedSource(f"https://news{s}.example/feed{f}.xml")
        for s in range(sites)
        for f in range(per_site)
    ]


@pytest.mark.parametrize(
    ("feeds", "max_units", "units"),
    [
        pytest.param(site_feeds(12, 1), 100, 12, id="few-feeds-one-task-each"),
        pytest.param(site_feeds(100, 1), 100, 100, id="at-the-limit-one-task-each"),
        pytest.param(site_feeds(10_000, 1), 100, 100, id="ten-thousand-feeds-a-hundred-tasks"),
        pytest.param(site_feeds(2_000, 2), 100, 100, id="sites-with-two-feeds"),
        pytest.param(site_feeds(7, 30), 5, 4, id="big-sites-two-to-a-unit"),
    ],
)
def test_units_of_work_stay_within_the_limit_and_never_split_a_site(
    feeds: list[FeedSource], max_units: int, units: int
) -> None:
    made = units_of_work(feeds, max_units)
    assert len(made) == units
    assert [f for unit in made for f in unit.feeds] == feeds  # each feed once, in order
    site_of_unit = {f.url.split("/")[2]: n for n, unit in enumerate(made) for f in unit.feeds}
    for n, unit in enumerate(made):
        assert all(site_of_unit[f.url.split("/")[2]] == n for f in unit.feeds)
    assert len({unit.name for unit in made}) == len(made)


def test_a_unit_of_one_feed_is_named_after_the_feed() -> None:
    [unit] = units_of_work([A], 100)
    assert unit.name == "feed-a.example/rss"


def test_uneven_sites_still_fit_the_limit() -> None:
    sizes = [1, 5, 1, 5, 1, 5, 1, 5, 1, 5]
    feeds = [
        FeedSource(f"https://s{n}.example/{k}") for n, size in enumerate(sizes) for k in range(size)
    ]
    made = units_of_work(feeds, 4)
    assert len(made) <= 4
    assert sum(len(u.feeds) for u in made) == len(feeds)


def test_plan_is_a_value() -> None:
    plan = RunPlan(fetch=(A,))
    with pytest.raises(AttributeError):
        plan.fetch = ()  # type: ignore[misc]
