"""Decide what one ingest run does: which feeds it fetches, and in which units of work.

:func:`plan_run` is pure: given the configured feeds, what the store remembers of them and the
time, it says which feeds are fetched, parked, not yet due or in another shard. Leases are
taken afterwards (they need the database); :meth:`RunPlan.leased_elsewhere` then moves the feeds
another run holds out of the way. :func:`units_of_work` groups the feeds to fetch into the
units the orchestrator runs and shows (one Prefect task each).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from ingest.errors import ConfigError
from ingest.feeds.shards import select_shard
from ingest.model import FeedResult, FeedSource, FeedState, FeedStatus
from ingest.urls import site_of

PARKED_ERROR = "parked after repeated failures: run `newsflow feeds reset URL`"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """The feeds of one run, each in exactly one group."""

    fetch: tuple[FeedSource, ...]
    parked: tuple[FeedSource, ...] = ()
    not_due: tuple[FeedSource, ...] = ()
    leased: tuple[FeedSource, ...] = ()  # held by another run: skipped
    other_shards: int = 0  # selected feeds that belong to other shards

    def leased_elsewhere(self, urls: Collection[str]) -> RunPlan:
        """This plan with the feeds whose lease another run holds moved to ``leased``."""
        taken = set(urls)
        return replace(
            self,
            fetch=tuple(s for s in self.fetch if s.url not in taken),
            leased=self.leased + tuple(s for s in self.fetch if s.url in taken),
        )

    def unfetched_results(self) -> list[FeedResult]:
        """The table rows of the feeds this run lists but does not fetch."""
        return [
            FeedResult(s.url, s.name, FeedStatus.PARKED, error=PARKED_ERROR) for s in self.parked
        ] + [FeedResult(s.url, s.name, FeedStatus.SKIPPED) for s in self.leased]


def select_feeds(sources: Sequence[FeedSource], tags: Collection[str] | None) -> list[FeedSource]:
    """Enabled feeds, restricted to those carrying any of ``tags`` when given."""
    wanted = set(tags or ())
    return [s for s in sources if s.enabled and (not wanted or wanted & set(s.tags))]


def plan_run(
    sources: Sequence[FeedSource],
    states: Mapping[str, FeedState],
    now: datetime,
    *,
    tags: Collection[str] | None = None,
    only_due: bool = False,
    shard: tuple[int, int] | None = None,
    early: timedelta = timedelta(0),
) -> RunPlan:
    """Say which of the configured feeds this run fetches.

    ``tags`` keeps the feeds carrying any of them; ``shard`` = ``(k, n)`` keeps shard k of n
    (``ingest.feeds.shards``); ``only_due`` leaves out the feeds whose ``next_fetch_at`` is
    more than ``early`` away (a scheduled run). ``early`` lets the run nearest a feed's time
    read it: a feed read 10 s into one run is due 10 s after the same point of a run one
    interval later, and without slack would wait for the run after. A parked feed is never
    fetched, only listed. Raises ConfigError when no enabled feed matches the tags: that is a
    mistake, not an empty run.
    """
    selected = select_feeds(sources, tags)
    if not selected:
        raise ConfigError("no enabled feeds" + (f" with tags {sorted(tags)}" if tags else ""))
    mine = select_shard(selected, *shard) if shard is not None else selected
    fetch: list[FeedSource] = []
    parked: list[FeedSource] = []
    not_due: list[FeedSource] = []
    for source in mine:
        state = states.get(source.url)
        if state is not None and state.parked:
            parked.append(source)
        elif only_due and state and state.next_fetch_at and state.next_fetch_at > now + early:
            not_due.append(source)
        else:
            fetch.append(source)
    return RunPlan(
        tuple(fetch), tuple(parked), tuple(not_due), other_shards=len(selected) - len(mine)
    )


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """Feeds fetched together in one task: one feed, or whole sites packed together."""

    name: str
    feeds: tuple[FeedSource, ...]


def units_of_work(feeds: Sequence[FeedSource], max_units: int) -> list[UnitOfWork]:
    """Group ``feeds`` into at most ``max_units`` units, never splitting a site.

    Up to ``max_units`` feeds, each feed is a unit of its own, so a broken feed is a task of
    its own in the UI. Beyond that, the feeds of a site (Public Suffix List registrable domain)
    stay together and sites are packed into ``max_units`` units of about equal feed counts, in
    the configured order, so the cost in task runs stays fixed however many feeds there are.
    """
    if max_units < 1:
        raise ValueError(f"max_units must be at least 1, not {max_units}")
    if len(feeds) <= max_units:
        return [UnitOfWork(feed_task_name(f.url), (f,)) for f in feeds]
    by_site: dict[str, list[FeedSource]] = {}
    for feed in feeds:
        by_site.setdefault(_site(feed.url), []).append(feed)
    per_unit = math.ceil(len(feeds) / max_units)
    packed = _pack(list(by_site.values()), per_unit)
    while len(packed) > max_units:  # uneven sites left gaps: allow a little more per unit
        per_unit += 1
        packed = _pack(list(by_site.values()), per_unit)
    total = len(packed)
    return [
        UnitOfWork(_unit_name(n, total, unit), tuple(unit))
        for n, unit in enumerate(packed, start=1)
    ]


def _pack(sites: list[list[FeedSource]], per_unit: int) -> list[list[FeedSource]]:
    """Fill units in order with whole sites, starting a new one when a site would overflow."""
    packed: list[list[FeedSource]] = [[]]
    for site_feeds in sites:
        if packed[-1] and len(packed[-1]) + len(site_feeds) > per_unit:
            packed.append([])
        packed[-1].extend(site_feeds)
    return packed


def feed_task_name(url: str) -> str:
    """A readable task-run name for one feed: its host and path."""
    parsed = urlsplit(url)
    return f"feed-{parsed.netloc}{parsed.path}"[:120]


def _unit_name(n: int, total: int, feeds: Sequence[FeedSource]) -> str:
    first, last = _site(feeds[0].url), _site(feeds[-1].url)
    sites = first if first == last else f"{first}..{last}"
    return f"feeds-{n:0{len(str(total))}d}-of-{total}-{sites}"[:120]


def _site(url: str) -> str:
    try:
        return site_of(url)
    except ValueError:  # the feeds file refuses such URLs; never let a name stop a run
        return urlsplit(url).netloc
