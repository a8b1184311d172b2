"""A generated site of K feeds x M article pages with distinct texts, for load and crash tests."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "harbour",
    "council",
    "river",
    "station",
    "market",
    "bridge",
    "school",
    "library",
    "festival",
    "budget",
    "ferry",
    "museum",
    "garden",
    "tram",
    "hospital",
    "court",
    "theatre",
    "stadium",
    "airport",
    "factory",
    "port",
    "village",
    "coast",
    "valley",
    "forest",
    "mayor",
    "minister",
    "teacher",
    "nurse",
    "driver",
    "farmer",
    "artist",
    "judge",
    "engineer",
    "pilot",
    "opened",
    "closed",
    "announced",
    "approved",
    "rejected",
    "delayed",
    "expanded",
    "repaired",
    "visited",
    "described",
    "morning",
    "evening",
    "weekend",
    "spring",
    "summer",
    "autumn",
    "winter",
    "north",
    "south",
    "east",
    "west",
    "central",
    "old",
    "new",
]


def _paragraph(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(40, 60))]
    return " ".join(words).capitalize() + "."


def page(feed: int, item: int) -> str:
    rng = random.Random(feed * 100_003 + item)
    title = f"Report {feed}-{item}: " + " ".join(rng.choice(WORDS) for _ in range(5))
    body = "\n".join(f"<p>{_paragraph(rng)}</p>" for _ in range(6))
    day = 1 + item % 28
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="article:published_time" content="2021-09-{day:02d}T08:00:00Z">'
        f'<meta name="author" content="Writer {item % 7}"></head><body>'
        f'<nav><a href="/">Home</a></nav><article><h1>{title}</h1>{body}</article>'
        f"<footer>Site footer</footer></body></html>"
    )


def feed_path(feed: int) -> str:
    return f"/feed-{feed}.xml"


def page_path(feed: int, item: int) -> str:
    return f"/p/{feed}/{item}.html"


def write_site(root: Path, feeds: int, items: int) -> int:
    """Write the site; return the number of distinct articles."""
    for k in range(feeds):
        entries = "\n".join(
            f"<item><title>Report {k}-{i}</title><link>{{base}}{page_path(k, i)}</link>"
            f"<guid>{{base}}{page_path(k, i)}</guid></item>"
            for i in range(items)
        )
        (root / feed_path(k).lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / feed_path(k).lstrip("/")).write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {k}</title>'
            f"<link>{{base}}/</link><description>d</description>{entries}</channel></rss>",
            encoding="utf-8",
        )
        for i in range(items):
            path = root / page_path(k, i).lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page(k, i), encoding="utf-8")
    return feeds * items


def feeds_toml(base_url: str, feeds: list[int]) -> str:
    return "".join(f'[[feeds]]\nurl = "{base_url}{feed_path(k)}"\n\n' for k in feeds)
