"""Record what a run did with each feed: its fetch state and its extraction health.

:func:`record_outcome` is the one way a feed's outcome reaches the database, for the ingest
flow and the benchmarks alike. It runs after the feed's articles were saved, so a crash in
between never records a feed as read when its articles were not. Extraction health is kept
per run (runs that extracted nothing are not kept) so that a sharp drop, a site redesign, is
noticed against the feed's recent runs (``ingest.health``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Engine, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ingest.health import HealthCounts, health_drops
from ingest.model import Cadence, FeedResult, FeedUpdate
from storage.models import FeedHealthRow, FeedRow

#: How many earlier runs a feed's recent health pools.
RECENT_RUNS = 5


def record_outcome(engine: Engine, results: Sequence[FeedResult]) -> dict[str, tuple[str, ...]]:
    """Record the fetched feeds among ``results`` in one transaction; return health drops.

    For each feed that was fetched (``result.update`` set): its state (validators, next
    fetch, failures in a row, parked, what adaptive polling learned) and this run's
    extraction health. The drops are the
    sentences of ``ingest.health.health_drops`` by feed URL, empty when all is well.
    """
    fetched = [r for r in results if r.update is not None]
    if not fetched:
        return {}
    drops: dict[str, tuple[str, ...]] = {}
    with Session(engine) as session, session.begin():
        urls = [r.feed_url for r in fetched]
        known = session.execute(select(FeedRow.url, FeedRow.id).where(FeedRow.url.in_(urls)))
        ids: dict[str, int] = {url: feed_id for url, feed_id in known}
        before = _recent_health(session, ids.values())
        health_rows: list[dict[str, Any]] = []
        feed_rows: dict[tuple[tuple[str, ...], bool], list[dict[str, Any]]] = {}
        for result in fetched:
            feed_id = ids.get(result.feed_url)
            if feed_id is None or result.update is None:
                continue  # a feed the store does not know: nothing to record it on
            drops[result.feed_url] = tuple(
                health_drops(result.health, before.get(feed_id, HealthCounts()))
            )
            if result.health.extracted:
                health_rows.append(
                    {
                        "feed_id": feed_id,
                        "recorded_at": result.update.fetched_at,
                        "extracted": result.health.extracted,
                        "with_date": result.health.with_date,
                        "with_author": result.health.with_author,
                        "long_body": result.health.long_body,
                    }
                )
            values = _feed_values(result.update)
            params = {_PARAM + key: value for key, value in values.items()}
            params["feed"] = feed_id
            shape = (tuple(sorted(values)), result.update.error is not None)
            feed_rows.setdefault(shape, []).append(params)
        # One statement per shape of feeds row (which columns a fetch sets), each executed
        # for all the feeds of that shape: at thousands of feeds a statement each cost more
        # than the feeds' saves (issue #17).
        conn = session.connection()
        if health_rows:
            conn.execute(insert(_HEALTH), health_rows)
        for (columns, failed), rows in feed_rows.items():
            conn.execute(_feed_update(columns, failed), rows)
    return drops


_FEEDS = cast(Table, FeedRow.__table__)
_HEALTH = cast(Table, FeedHealthRow.__table__)
#: Parameter names of the feed update: a column's own name is reserved for it by SQLAlchemy.
_PARAM = "new_"


@cache
def _feed_update(columns: tuple[str, ...], failed: bool) -> Update:
    """UPDATE feeds SET each of ``columns`` = its parameter WHERE id = :feed, built once per
    shape; after a failure the count of failures in a row goes up by one in SQL itself."""
    values: dict[str, Any] = {column: bindparam(_PARAM + column) for column in columns}
    values["consecutive_failures"] = _FEEDS.c.consecutive_failures + 1 if failed else 0
    return update(_FEEDS).where(_FEEDS.c.id == bindparam("feed")).values(values)


def _feed_values(outcome: FeedUpdate) -> dict[str, Any]:
    """The feeds row after a fetch (but for ``consecutive_failures``, which the statement
    resets on success and counts up after a failure: ``_feed_update``).

    Pages blocked by a bot or consent wall are no failure of the feed: they are kept in
    ``blocked_by`` (shown by ``feeds list``), and the count of failures in a row is reset.
    """
    values: dict[str, Any] = {
        "last_fetched_at": outcome.fetched_at,
        "last_status": outcome.status.value,
        "last_error": outcome.error,
        "next_fetch_at": outcome.next_fetch_at,
        "parked": outcome.parked,
    }
    if outcome.validators is not None:
        values["etag"] = outcome.validators.etag
        values["last_modified"] = outcome.validators.last_modified
    if outcome.pages is not None:  # the entries were read: what became of their pages
        values["disallowed"] = outcome.pages.disallowed
        if outcome.pages.requested:
            values["blocked_by"] = outcome.pages.blocked_by
    if outcome.cadence is not None:
        values |= cadence_values(outcome.cadence)
    return values


def cadence_values(cadence: Cadence) -> dict[str, Any]:
    """The feeds columns that keep what adaptive polling learned (read by ``feed_states``)."""
    return {
        "poll_interval_seconds": round(cadence.interval.total_seconds()),
        "entries_per_day": cadence.entries_per_day,
        "peak_entries_per_day": cadence.peak_per_day,
        "entries_listed": cadence.listed,
        "rate_learned_at": cadence.learned_at,
    }


def _recent_health(session: Session, feed_ids: Collection[int]) -> dict[int, HealthCounts]:
    """The pooled counts of each feed's last ``RECENT_RUNS`` recorded runs."""
    if not feed_ids:
        return {}
    ranked = (
        select(
            FeedHealthRow,
            func.row_number()
            .over(
                partition_by=FeedHealthRow.feed_id,
                order_by=(FeedHealthRow.recorded_at.desc(), FeedHealthRow.id.desc()),
            )
            .label("n"),
        )
        .where(FeedHealthRow.feed_id.in_(sorted(feed_ids)))
        .subquery()
    )
    rows = session.execute(
        select(
            ranked.c.feed_id,
            ranked.c.extracted,
            ranked.c.with_date,
            ranked.c.with_author,
            ranked.c.long_body,
        ).where(ranked.c.n <= RECENT_RUNS)
    )
    pooled: dict[int, HealthCounts] = {}
    for feed_id, extracted, with_date, with_author, long_body in rows:
        pooled[feed_id] = pooled.get(feed_id, HealthCounts()) + HealthCounts(
            extracted, with_date, with_author, long_body
        )
    return pooled
