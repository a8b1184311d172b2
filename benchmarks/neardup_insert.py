"""Insert synthetic articles through the store and show that near-duplicate linking stays flat.

    .venv/bin/python benchmarks/neardup_insert.py                  # 100,000 into a temp SQLite
    .venv/bin/python benchmarks/neardup_insert.py --db postgresql://postgres@127.0.0.1/bench

Articles are made-up text (a Zipf vocabulary, 150-400 words in 4-8 paragraphs), saved in
batches through ``SqlStore.save`` exactly as the ingest flow does, spread over 20 outlets. A
share of them (``--copy-rate``) are copies of a recent article by another outlet, edited the way
wire copy is: a paragraph dropped or added, a few words changed, boilerplate appended; so the
band lookup finds real candidates and clusters form. Time per insert is measured in a window
around 10,000 and one around 100,000 stored articles; memory as the process's resident size.
The database must be empty (a new SQLite file by default).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from ingest.dedup.keys import content_hash
from ingest.model import Article, ArticleRecord, FeedSource
from storage.db import ensure_schema, make_engine
from storage.models import ArticleRow
from storage.repository import SqlStore, sync_feeds

OUTLETS = 20
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BOILERPLATE = [
    "Sign up for our morning newsletter and get the day's news in your inbox every weekday.",
    "Copyright 2026 the agency. All rights reserved. Not to be published without permission.",
    "Comments on this article are closed. Read our community guidelines to find out more.",
]


def rss_kib(field_name: str) -> int:
    """A field of /proc/self/status in KiB: VmRSS (now) or VmHWM (peak so far)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status (Linux only)")


class Writer:
    """Deterministic made-up news text with a Zipf word distribution."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = ["ka", "lo", "mi", "ner", "sto", "vi", "ran", "tel", "bu", "dor", "es", "pa"]
        words = {
            "".join(self.rng.choices(syllables, k=self.rng.randint(1, 4))) for _ in range(40000)
        }
        self.vocabulary = sorted(words)
        self.weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))

    def paragraph(self) -> str:
        n = self.rng.randint(25, 70)
        return " ".join(self.rng.choices(self.vocabulary, cum_weights=self.weights, k=n)) + "."

    def story(self) -> list[str]:
        paragraphs = [self.paragraph() for _ in range(self.rng.randint(4, 8))]
        while sum(len(p.split()) for p in paragraphs) < 150:
            paragraphs.append(self.paragraph())
        return paragraphs

    def copy(self, original: list[str]) -> list[str]:
        """Another outlet's edit of a story."""
        paragraphs = list(original)
        if len(paragraphs) > 4 and self.rng.random() < 0.4:
            del paragraphs[self.rng.randrange(len(paragraphs))]
        if self.rng.random() < 0.4:
            paragraphs.insert(self.rng.randrange(len(paragraphs) + 1), self.paragraph())
        for _ in range(self.rng.randint(0, 4)):
            i = self.rng.randrange(len(paragraphs))
            words = paragraphs[i].split()
            words[self.rng.randrange(len(words))] = self.rng.choice(self.vocabulary)
            paragraphs[i] = " ".join(words)
        if self.rng.random() < 0.5:
            paragraphs.append(self.rng.choice(BOILERPLATE))
        return paragraphs


@dataclass
class Source:
    writer: Writer
    copy_rate: float
    recent: deque[list[str]] = field(default_factory=lambda: deque(maxlen=2000))
    serial: int = 0

    def batches(self, total: int, size: int) -> Iterator[tuple[str, list[ArticleRecord]]]:
        rng = self.writer.rng
        while self.serial < total:
            outlet = rng.randrange(OUTLETS)
            batch = [self.record(outlet) for _ in range(min(size, total - self.serial))]
            yield feed_url(outlet), batch

    def record(self, outlet: int) -> ArticleRecord:
        self.serial += 1
        if self.recent and self.writer.rng.random() < self.copy_rate:
            paragraphs = self.writer.copy(self.writer.rng.choice(self.recent))
        else:
            paragraphs = self.writer.story()
            self.recent.append(paragraphs)
        text = "\n\n".join(paragraphs)
        url = f"https://outlet{outlet}.example/{self.serial}"
        fetched = T0 + timedelta(seconds=self.serial)
        return ArticleRecord(
            article=Article(url=url, canonical_url=url, title=f"Story {self.serial}", text=text),
            link_url=url,
            guid=None,
            entry_hash=content_hash(url),
            content_hash=content_hash(text),
            fetched_at=fetched,
        )


def needs_analyze(engine: Engine) -> bool:
    """A Postgres server with autovacuum off never collects planner statistics by itself."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return conn.execute(text("SHOW autovacuum")).scalar() == "off"


def analyze(engine: Engine) -> None:
    """Do what autovacuum does as a table grows by a tenth: refresh planner statistics."""
    with engine.connect() as conn:
        conn.execute(text("ANALYZE articles, article_bands, article_signatures"))
        conn.commit()


def feed_url(outlet: int) -> str:
    return f"https://outlet{outlet}.example/feed"


def window_report(name: str, per_insert_ms: list[float]) -> float:
    mean = statistics.fmean(per_insert_ms)
    p95 = statistics.quantiles(per_insert_ms, n=20)[-1]
    print(
        f"  {name}: {mean:.2f} ms/insert (batch p50 {statistics.median(per_insert_ms):.2f}, "
        f"p95 {p95:.2f}) over {len(per_insert_ms)} batches"
    )
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file in a temp dir)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100, help="records per save() call")
    parser.add_argument("--copy-rate", type=float, default=0.15)
    parser.add_argument("--window", type=int, default=2000, help="inserts per timing window")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="neardup-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(ArticleRow)):
                sys.exit(f"{url} already holds articles: give an empty database")
        sync_feeds(engine, [FeedSource(feed_url(n)) for n in range(OUTLETS)])
        store = SqlStore(engine)
        small = max(args.window, args.count // 10)  # "around 10k" for the default count
        windows = {
            "around 10k": (small - args.window // 2, small + args.window // 2),
            "around 100k": (args.count - args.window, args.count),
        }
        samples: dict[str, list[float]] = {name: [] for name in windows}
        memory: dict[str, tuple[int, int]] = {}
        source = Source(Writer(args.seed), args.copy_rate)
        counts = {"new": 0, "duplicates": 0}
        print(
            f"inserting {args.count} articles into {engine.url.render_as_string()} "
            f"in batches of {args.batch}, {args.copy_rate:.0%} edited copies"
        )
        stand_in = needs_analyze(engine)
        if stand_in:
            print("  autovacuum is off on this server: running ANALYZE (untimed) each time the")
            print("  tables grow by a tenth, as autovacuum's default analyze_scale_factor would")
        analyzed_at = 0
        started = time.perf_counter()
        stored = 0
        for feed, batch in source.batches(args.count, args.batch):
            t = time.perf_counter()
            saved = store.save(feed, batch)
            elapsed_ms = (time.perf_counter() - t) * 1000 / len(batch)
            counts["new"] += saved.new
            counts["duplicates"] += saved.duplicates
            stored += len(batch)
            for name, (lo, hi) in windows.items():
                if lo < stored <= hi:
                    samples[name].append(elapsed_ms)
                if stored >= hi and name not in memory:
                    memory[name] = (rss_kib("VmRSS"), rss_kib("VmHWM"))
            if stand_in and stored >= max(1000, analyzed_at * 1.1):
                analyze(engine)
                analyzed_at = stored
            if stored % 10_000 < args.batch:
                print(
                    f"  {stored:>7} stored, {time.perf_counter() - started:7.1f} s, "
                    f"last batch {elapsed_ms:.2f} ms/insert, RSS {rss_kib('VmRSS') // 1024} MiB, "
                    f"peak {rss_kib('VmHWM') // 1024} MiB",
                    flush=True,
                )
        with Session(engine) as session:
            clusters = session.scalar(select(func.count(func.distinct(ArticleRow.cluster_id))))
            linked = session.scalar(
                select(func.count())
                .select_from(ArticleRow)
                .where(ArticleRow.duplicate_of.is_not(None))
            )
        engine.dispose()
        print(
            f"done in {time.perf_counter() - started:.0f} s: {counts['new']} stored, "
            f"{counts['duplicates']} duplicates, {clusters} clusters, {linked} linked copies"
        )
        if url.startswith("sqlite:///"):
            size = Path(url.removeprefix("sqlite:///")).stat().st_size
            print(f"  database file {size / 2**20:.0f} MiB")
        means = {name: window_report(name, values) for name, values in samples.items()}
        for name, (now_kib, peak_kib) in memory.items():
            print(f"  memory {name}: RSS {now_kib / 1024:.0f} MiB, peak {peak_kib / 1024:.0f} MiB")
        ratio = means["around 100k"] / means["around 10k"]
        peak_growth = memory["around 100k"][1] / memory["around 10k"][1]
        print(
            f"  time per insert 100k/10k: {ratio:.2f}x (target <= 1.5x); "
            f"peak memory 100k/10k: {peak_growth:.2f}x"
        )


if __name__ == "__main__":
    main()
