"""Simulate a week of polling: adaptive polling against fixed 15-minute polling.

    .venv/bin/python benchmarks/polling_sim.py                # the table of docs/scaling.md
    .venv/bin/python benchmarks/polling_sim.py --sweep        # also other bounds and ticks
    .venv/bin/python benchmarks/polling_sim.py --hundreds 1 --days 2 --json out.json

Feeds of several kinds publish over a week (from a few items a day to one a minute, with
daily live blogs, batches and one surprise burst). A feed's document lists its last ``keep``
entries, so an entry that ``keep`` newer ones pushed out before a read is missed. A scheduled
run comes every ``tick``, as ``ingest/scheduled`` does, and reads every feed that is due, at
that instant; a feed with nothing new answers 304 (conditional GET), which is still a fetch.

The decisions are newsflow's own: each read is turned into ``PollCounts`` (entries listed,
how many new, their dates) as ``ingest.pipeline`` does, the next fetch time comes from
``ingest.feeds.schedule.learn`` and ``after_success``, and which feeds a run reads from
``ingest.feeds.plan.plan_run`` (its ``early`` slack included). Fixed polling is the same
``after_success`` with the 15-minute base and nothing learned. No server hints (``<ttl>``,
Cache-Control) and no failures: those stretch both alike.

Reported per kind: fetches, entries missed (scrolled off unread), and the mean delay from
publication to the first read (entries published during the week; those still listed when it
ends are neither read nor missed). Everything is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from ingest.feeds.plan import plan_run  # noqa: E402
from ingest.feeds.schedule import Polling, after_success, learn  # noqa: E402
from ingest.model import Cadence, FeedSource, FeedState, PollCounts  # noqa: E402

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday, midnight UTC
MINUTE = 60.0  # times are in seconds from T0
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WARM_UP = 60 * DAY  # the feeds publish before the week starts, so a first read lists a full page

Publisher = Callable[[random.Random, float, float], list[float]]


# -- how feeds publish -----------------------------------------------------------------------


def poisson(per_day: float) -> Publisher:
    """Entries at random, ``per_day`` a day on average."""

    def publish(rng: random.Random, start: float, end: float) -> list[float]:
        times, t = [], start
        while (t := t + rng.expovariate(per_day / DAY)) < end:
            times.append(t)
        return times

    return publish


def daytime(per_day: float, first_hour: int = 6, last_hour: int = 22) -> Publisher:
    """Entries at random between ``first_hour`` and ``last_hour`` UTC, none at night."""
    hours = last_hour - first_hour

    def publish(rng: random.Random, start: float, end: float) -> list[float]:
        return [
            t
            for t in poisson(per_day * 24 / hours)(rng, start, end)
            if first_hour <= (t % DAY) / HOUR < last_hour
        ]

    return publish


def bursts(
    background_per_day: float, burst_minutes: float, every_minutes: float, days: Sequence[int]
) -> Publisher:
    """A quiet feed that, on each of ``days``, publishes every ``every_minutes`` for
    ``burst_minutes`` from a random time of the day (a live blog)."""

    def publish(rng: random.Random, start: float, end: float) -> list[float]:
        times = poisson(background_per_day)(rng, start, end)
        for day in days:
            begin = day * DAY + rng.uniform(6 * HOUR, 20 * HOUR)
            step = every_minutes * MINUTE
            times += [begin + k * step for k in range(int(burst_minutes / every_minutes))]
        return sorted(t for t in times if start <= t < end)

    return publish


def batches(per_day: int, size: int, within_minutes: float) -> Publisher:
    """``per_day`` batches a day at random times, each of ``size`` entries posted within
    ``within_minutes`` (a site that publishes its stories in rounds)."""

    def publish(rng: random.Random, start: float, end: float) -> list[float]:
        times: list[float] = []
        for day in range(math.floor(start / DAY), math.ceil(end / DAY)):
            for _ in range(per_day):
                begin = day * DAY + rng.uniform(0, DAY)
                times += [begin + rng.uniform(0, within_minutes * MINUTE) for _ in range(size)]
        return sorted(t for t in times if start <= t < end)

    return publish


@dataclass(frozen=True)
class FeedKind:
    name: str
    keep: int  # entries the document lists
    publish: Publisher
    share: int  # feeds of this kind in a hundred: an assumed mix, not a measured one


# "Most feeds publish a few items a day, and a few publish every minute" (issue #17).
KINDS = (
    FeedKind("silent (one entry a month)", 10, poisson(1 / 30), 10),
    FeedKind("a few a day (3)", 10, poisson(3), 30),
    FeedKind("daytime only, 20 a day", 10, daytime(20), 25),
    FeedKind("hourly (24 a day)", 20, poisson(24), 12),
    FeedKind("batches: 4 a day of 10 in 2 min", 10, batches(4, 10, 2), 5),
    FeedKind("every 5 minutes", 30, poisson(288), 5),
    FeedKind("every minute, 50 listed", 50, poisson(1440), 3),
    FeedKind("every minute, 10 listed", 10, poisson(1440), 3),
    FeedKind("live blog daily: 90 min at 1/min", 20, bursts(2, 90, 1, days=range(-60, 7)), 4),
    FeedKind("surprise: one 2 h burst at 1/2 min", 20, bursts(3, 120, 2, days=[3]), 3),
)
assert sum(k.share for k in KINDS) == 100


# -- polling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    name: str
    tick: timedelta  # how often a scheduled run comes
    polling: Polling | None  # None: fixed at the base interval, nothing learned
    early: timedelta = timedelta(0)  # plan_run reads a feed due this soon after the run


FIXED = Policy("fixed 15 min", timedelta(minutes=15), None)
ADAPTIVE = Policy("adaptive", timedelta(minutes=5), Polling(), early=Polling().min_interval / 2)


@dataclass
class FeedStats:
    published: int = 0  # entries published during the week
    fetches: int = 0
    not_modified: int = 0
    missed: int = 0
    delays: list[float] = field(default_factory=list)  # seconds, of the entries read

    def __iadd__(self, other: FeedStats) -> FeedStats:
        self.published += other.published
        self.fetches += other.fetches
        self.not_modified += other.not_modified
        self.missed += other.missed
        self.delays += other.delays
        return self


def simulate(
    times: Sequence[float], keep: int, policy: Policy, days: float, learn_days: float
) -> FeedStats:
    """Poll one feed whose entries appear at ``times`` (seconds from T0) from ``-learn_days``
    to ``days``; count what happens from 0 on (the week)."""
    url = "http://feed.example/rss"
    source = FeedSource(url)
    stats = FeedStats(published=sum(0 <= t < days * DAY for t in times))
    state = FeedState(url)
    read_upto = -1  # index of the newest entry read so far
    tick = policy.tick.total_seconds()
    for n in range(-math.ceil(learn_days * DAY / tick), math.ceil(days * DAY / tick)):
        at = n * tick
        now = T0 + timedelta(seconds=at)
        if not plan_run([source], {url: state}, now, only_due=True, early=policy.early).fetch:
            continue
        latest = bisect.bisect_right(times, at) - 1
        first = max(0, latest - keep + 1)
        stats.fetches += at >= 0
        if latest == read_upto:
            read = PollCounts()  # nothing new: the server answers 304
            stats.not_modified += at >= 0
        else:
            unread_from = read_upto + 1 if read_upto >= 0 else first
            stats.missed += sum(times[i] >= 0 for i in range(unread_from, first))
            new_from = max(first, unread_from)
            stats.delays += [at - times[i] for i in range(new_from, latest + 1) if times[i] >= 0]
            listed = times[first : latest + 1]
            read = PollCounts(
                entries=len(listed),
                new=latest - new_from + 1,
                dated=len(listed),
                span=timedelta(seconds=listed[-1] - listed[0]) if len(listed) >= 2 else None,
            )
            read_upto = latest
        state = _after_read(state, read, now, policy)
    return stats


def _after_read(state: FeedState, read: PollCounts, now: datetime, policy: Policy) -> FeedState:
    if policy.polling is None:
        plan = after_success(now, base=policy.tick)
        return FeedState(state.url, next_fetch_at=plan.next_fetch_at)
    cadence: Cadence = learn(state.cadence, read, now, policy.polling)
    plan = after_success(now, base=cadence.interval)
    return FeedState(state.url, next_fetch_at=plan.next_fetch_at, cadence=cadence)


# -- the whole simulation --------------------------------------------------------------------


@dataclass
class KindResult:
    kind: str
    keep: int
    feeds: int
    by_policy: dict[str, FeedStats]


def run(
    policies: Sequence[Policy], hundreds: int, days: float, learn_days: float, seed: int
) -> list[KindResult]:
    """Simulate ``hundreds`` x 100 feeds of the mix of KINDS under every policy."""
    results = []
    for k, kind in enumerate(KINDS):
        by_policy = {p.name: FeedStats() for p in policies}
        feeds = kind.share * hundreds
        for f in range(feeds):
            rng = random.Random(seed * 1_000_003 + k * 1009 + f)
            times = kind.publish(rng, -WARM_UP, days * DAY)
            for policy in policies:
                by_policy[policy.name] += simulate(times, kind.keep, policy, days, learn_days)
        results.append(KindResult(kind.name, kind.keep, feeds, by_policy))
    return results


def totals(results: Sequence[KindResult], policy: str) -> FeedStats:
    total = FeedStats()
    for result in results:
        total += result.by_policy[policy]
    return total


def _delay(stats: FeedStats) -> str:
    if not stats.delays:
        return "–"
    minutes = sum(stats.delays) / len(stats.delays) / MINUTE
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def table(results: Sequence[KindResult], base: Policy, other: Policy) -> str:
    a, b = base.name, other.name
    lines = [
        f"| kind | feeds | listed | published | {a}: fetches | missed "
        f"| mean delay | {b}: fetches | missed | mean delay |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(r.kind, f"{r.feeds:,}", str(r.keep), r.by_policy) for r in results]
    feeds = f"{sum(r.feeds for r in results):,}"
    rows.append(("**all**", feeds, "", {a: totals(results, a), b: totals(results, b)}))
    for name, count, keep, stats in rows:
        x, y = stats[a], stats[b]
        lines.append(
            f"| {name} | {count} | {keep} | {x.published:,} | {x.fetches:,} | {x.missed:,} "
            f"| {_delay(x)} "
            f"| {y.fetches:,} | {y.missed:,} | {_delay(y)} |"
        )
    return "\n".join(lines)


def sweep_policies() -> list[Policy]:
    """Other bounds, memories and ticks, to show what each choice costs."""
    policies = []
    for tick_min, low, high, peak_days in (
        (5, 5, 120, 7),
        (5, 5, 240, 7),
        (5, 5, 1440, 7),
        (5, 5, 60, 2),
        (15, 15, 60, 7),
        (15, 5, 60, 7),
    ):
        polling = Polling(
            min_interval=timedelta(minutes=low),
            max_interval=timedelta(minutes=high),
            peak_memory=timedelta(days=peak_days),
        )
        name = (
            f"adaptive {low} min - {high / 60:g} h, peak memory {peak_days:g} d, "
            f"runs every {tick_min} min"
        )
        policies.append(
            Policy(name, timedelta(minutes=tick_min), polling, polling.min_interval / 2)
        )
    return policies


def sweep_table(results: Sequence[KindResult], policies: Sequence[Policy]) -> str:
    lines = [
        "| polling | fetches | vs fixed | missed | mean delay | worst kind: missed (fixed) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    fixed = totals(results, FIXED.name)
    for policy in [FIXED, *policies]:
        total = totals(results, policy.name)
        worst = max(
            results,
            key=lambda r: r.by_policy[policy.name].missed - r.by_policy[FIXED.name].missed,
        )
        lines.append(
            f"| {policy.name} | {total.fetches:,} | {total.fetches / fixed.fetches:.2f}x | "
            f"{total.missed:,} | {_delay(total)} | {worst.kind}: "
            f"{worst.by_policy[policy.name].missed} ({worst.by_policy[FIXED.name].missed}) |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--hundreds", type=int, default=2, help="feeds, in hundreds")
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument(
        "--learn-days",
        type=float,
        default=7,
        help="days polled before the week is counted (0: a fresh store, nothing learned)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", action="store_true", help="also other bounds and ticks")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    extra = sweep_policies() if args.sweep else []
    results = run([FIXED, ADAPTIVE, *extra], args.hundreds, args.days, args.learn_days, args.seed)
    polling = Polling()
    print(
        f"{args.days:g} days after {args.learn_days:g} days of polling, "
        f"{100 * args.hundreds} feeds, seed {args.seed}. adaptive: "
        f"NEWSFLOW_MIN_INTERVAL={polling.min_interval.total_seconds() / 60:g}, "
        f"NEWSFLOW_MAX_INTERVAL={polling.max_interval.total_seconds() / 60:g} (minutes), "
        f"runs every {ADAPTIVE.tick.total_seconds() / 60:g} min; fixed: every 15 min.\n"
    )
    print(table(results, FIXED, ADAPTIVE))
    if extra:
        print()
        print(sweep_table(results, [ADAPTIVE, *extra]))
    if args.json:
        figures = [
            {
                "kind": r.kind,
                "keep": r.keep,
                "feeds": r.feeds,
                "policies": {
                    name: {k: v for k, v in asdict(s).items() if k != "delays"}
                    | {"mean_delay_s": sum(s.delays) / len(s.delays) if s.delays else None}
                    for name, s in r.by_policy.items()
                },
            }
            for r in results
        ]
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
