"""Write a synthetic news site for the throughput benchmark: K feeds of M article pages each.

Every page looks like a commercial news page of 50-150 KB: a header with a long navigation
menu, a cookie banner, ad slots, a share bar, the story (6-15 paragraphs of generated prose),
related links, a long comment section, a footer, and inline scripts and styles that make up
most of the bytes, as on real sites. Metadata is in JSON-LD and OpenGraph. About 10 % of the
articles are syndicated copies of a recent article of *another* feed: the same story text
under a different headline and page furniture. Feeds are RSS 2.0 with absolute links, written
with the ``{base}`` placeholder that ``flows.demo.server.SiteServer`` fills in.

Everything is deterministic for a given seed.
"""

from __future__ import annotations

import html
import json
import random
import string
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

BASE = "{base}"
SYNDICATED_SHARE = 0.10
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
SECTIONS = ("world", "politics", "business", "science", "culture", "sport", "local", "opinion")
# The commonest English words, so the prose has a realistic share of stop words.
_FUNCTION_WORDS = (
    "the of and to in a is that for on was with as by at from it be this have are not "
    "but had his they were which an has their been would who will more its there said one "
    "after about than into over also could when two new before other out some up while"
)


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """How big a site to write."""

    feeds: int
    per_feed: int
    seed: int = 7

    @property
    def articles(self) -> int:
        return self.feeds * self.per_feed


@dataclass(slots=True)
class WrittenSite:
    """What was written: the feed paths, every page path, and the byte count."""

    root: Path
    feed_paths: list[str]
    page_paths: list[str] = field(default_factory=list)
    syndicated: int = 0
    page_bytes: int = 0


class Prose:
    """Generated prose over a made-up vocabulary with a Zipf-like word distribution."""

    def __init__(self, rng: random.Random, vocabulary: int = 4000) -> None:
        self.rng = rng
        made_up = {self._word() for _ in range(vocabulary)}
        self.words = _FUNCTION_WORDS.split() + sorted(made_up)
        self.cum_weights = list(accumulate(1.0 / (rank + 1) for rank in range(len(self.words))))
        self.names = [w.capitalize() for w in sorted(made_up)[:300]]

    def _word(self) -> str:
        syllables = ("ka", "lo", "mer", "tin", "sa", "ve", "ron", "di", "pel", "ar", "u", "est")
        return "".join(self.rng.choices(syllables, k=self.rng.randint(1, 4)))

    def sentence(self, low: int = 8, high: int = 26) -> str:
        words = self.rng.choices(
            self.words, cum_weights=self.cum_weights, k=self.rng.randint(low, high)
        )
        if len(words) > 10 and self.rng.random() < 0.4:
            words[self.rng.randint(3, len(words) - 4)] += ","
        if self.rng.random() < 0.3:
            words.insert(self.rng.randint(0, len(words) - 1), self.rng.choice(self.names))
        return " ".join(words).capitalize() + self.rng.choice("....?!")[0]

    def paragraph(self, sentences: tuple[int, int] = (3, 7)) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(*sentences)))

    def title(self) -> str:
        return self.sentence(5, 11).rstrip(".?!")

    def person(self) -> str:
        return f"{self.rng.choice(self.names)} {self.rng.choice(self.names)}"


class Filler:
    """Inline script and style text, sliced from a pre-generated pool so pages differ cheaply."""

    def __init__(self, rng: random.Random, size: int = 1_500_000) -> None:
        self.rng = rng
        parts: list[str] = []
        total = 0
        while total < size:
            part = self._chunk()
            parts.append(part)
            total += len(part)
        self.pool = "".join(parts)

    def _ident(self) -> str:
        return "".join(self.rng.choices(string.ascii_letters, k=self.rng.randint(2, 9)))

    def _chunk(self) -> str:
        kind = self.rng.random()
        if kind < 0.5:
            args = ",".join(self._ident() for _ in range(self.rng.randint(1, 4)))
            body = ";".join(
                f"{self._ident()}.{self._ident()}({self.rng.randint(0, 9999)})" for _ in range(6)
            )
            return f"function {self._ident()}({args}){{var {self._ident()}=[];{body};return !0}}"
        if kind < 0.8:
            return (
                f".{self._ident()}-{self._ident()}{{margin:{self.rng.randint(0, 40)}px;"
                f"color:#{self.rng.randrange(16**6):06x};display:flex}}"
            )
        return json.dumps({self._ident(): self.rng.randint(0, 10**9) for _ in range(5)}) + ";"

    def take(self, size: int) -> str:
        """Return about ``size`` characters of script-like text (never containing '<')."""
        size = min(size, len(self.pool) - 1)
        start = self.rng.randrange(len(self.pool) - size)
        return self.pool[start : start + size]


@dataclass(slots=True)
class _Story:
    title: str
    author: str
    paragraphs: list[str]


class _Writer:
    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.prose = Prose(self.rng)
        self.filler = Filler(self.rng)
        self.nav = self._nav()
        self.footer = self._footer()

    def _nav(self) -> str:
        items = []
        for section in SECTIONS:
            subs = "".join(
                f'<li><a href="{BASE}/{section}/{_slug(self.prose.title())}/">'
                f"{html.escape(self.prose.title()[:30])}</a></li>"
                for _ in range(self.rng.randint(10, 18))
            )
            items.append(
                f'<li class="menu-item"><a href="{BASE}/{section}/">{section.title()}</a>'
                f'<ul class="sub-menu">{subs}</ul></li>'
            )
        return f'<nav class="main-menu" aria-label="Sections"><ul>{"".join(items)}</ul></nav>'

    def _footer(self) -> str:
        links = "".join(
            f'<li><a href="{BASE}/about/{i}">{html.escape(self.prose.title()[:25])}</a></li>'
            for i in range(40)
        )
        return (
            f'<footer class="site-footer"><ul class="footer-links">{links}</ul>'
            "<p>© 2026 The Generated Gazette Media Group. All rights reserved. "
            "Reproduction without permission is prohibited.</p></footer>"
        )

    def story(self) -> _Story:
        paragraphs = [self.prose.paragraph() for _ in range(self.rng.randint(6, 15))]
        return _Story(self.prose.title(), self.prose.person(), paragraphs)

    def page(self, feed: int, path: str, story: _Story, published: datetime) -> tuple[str, str]:
        """Return the page's head and body, before padding."""
        rng, prose = self.rng, self.prose
        url = f"{BASE}{path}"
        escaped_title = html.escape(story.title)
        description = html.escape(story.paragraphs[0][:180])
        section = SECTIONS[feed % len(SECTIONS)]
        jsonld = json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": story.title,
                "datePublished": published.isoformat(),
                "dateModified": (published + timedelta(minutes=rng.randint(5, 300))).isoformat(),
                "author": [{"@type": "Person", "name": story.author}],
                "publisher": {"@type": "Organization", "name": f"Gazette {feed}"},
                "mainEntityOfPage": url,
                "articleSection": section,
                "description": story.paragraphs[0][:180],
            },
            ensure_ascii=False,
        )
        story_html = "\n".join(
            (f"<p>{html.escape(p)}</p>" if i % 4 != 3 else f"<p>{html.escape(p)}</p>{self._ad()}")
            for i, p in enumerate(story.paragraphs)
        )
        related = "".join(
            f'<li><a href="{BASE}/{section}/related-{rng.randint(1, 99999)}.html">'
            f"{html.escape(prose.title())}</a></li>"
            for _ in range(rng.randint(8, 16))
        )
        comments = "".join(
            f'<li class="comment"><div class="comment-author">{html.escape(prose.person())}</div>'
            f'<time class="comment-date">{rng.randint(1, 59)} minutes ago</time>'
            f"<p>{html.escape(prose.paragraph((1, 4)))}</p>"
            '<button class="reply">Reply</button> <span class="likes">'
            f"{rng.randint(0, 300)} likes</span></li>"
            for _ in range(rng.randint(20, 60))
        )
        head = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escaped_title} | Gazette {feed}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="canonical" href="{url}">'
            f'<meta property="og:type" content="article"><meta property="og:url" content="{url}">'
            f'<meta property="og:title" content="{escaped_title}">'
            f'<meta property="og:description" content="{description}">'
            f'<meta property="og:site_name" content="Gazette {feed}">'
            f'<meta property="article:published_time" content="{published.isoformat()}">'
            f'<meta name="author" content="{html.escape(story.author)}">'
            f'<script type="application/ld+json">{jsonld}</script>'
        )
        body = (
            f'</head><body class="article-page section-{section}">'
            '<div id="cookie-banner" class="consent">We and our 843 partners use cookies to '
            "personalise content and ads. <button>Accept all</button><button>Manage</button></div>"
            f'<header class="masthead"><a class="logo" href="{BASE}/">Gazette {feed}</a>'
            f"{self.nav}</header>{self._ad()}"
            '<main><article class="story">'
            f'<h1 class="headline">{escaped_title}</h1>'
            f'<div class="byline">By <a rel="author" href="{BASE}/authors/'
            f'{_slug(story.author)}">{html.escape(story.author)}</a> · '
            f'<time datetime="{published.isoformat()}">{published:%d %B %Y, %H:%M}</time></div>'
            '<div class="share-bar"><a href="#">Share on Facebook</a><a href="#">Share on X</a>'
            '<a href="#">Email</a><a href="#">Copy link</a></div>'
            f'<div class="story-body">{story_html}</div></article>'
            f'<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>'
            f'<section class="comments"><h2>Comments</h2><ol>{comments}</ol></section>'
            f"</main>{self._ad()}{self.footer}"
        )
        return head, body

    def _ad(self) -> str:
        slot = self.rng.randint(1, 999)
        return (
            f'<div class="ad-slot" id="ad-{slot}" data-ad-unit="/1234/news/{slot}">'
            '<span class="ad-label">Advertisement</span>'
            f"<script>googletag.cmd.push(function(){{googletag.display('ad-{slot}')}});</script></div>"
        )

    def padded(self, head: str, body: str, target: int) -> str:
        """Insert inline styles and scripts until the page is about ``target`` bytes."""
        closing = "</body></html>"
        missing = max(0, target - len(head) - len(body) - len(closing))
        style = self.filler.take(missing // 3)
        script = self.filler.take(missing - len(style))
        return (
            f"{head}<style>{style}</style>{body}"
            f"<script>window.__APP_STATE__={{}};{script}</script>{closing}"
        )


def write_site(root: Path, spec: SiteSpec) -> WrittenSite:
    """Write the site under ``root``; return its feed and page paths (site paths, from '/')."""
    writer = _Writer(spec)
    rng = writer.rng
    site = WrittenSite(root, [f"/gazette-{k}/rss.xml" for k in range(spec.feeds)])
    items: list[list[str]] = [[] for _ in range(spec.feeds)]
    recent: deque[tuple[int, _Story]] = deque(maxlen=200)  # originals a copy may come from
    for i in range(spec.per_feed):
        for k in range(spec.feeds):
            published = T0 - timedelta(minutes=7 * (i * spec.feeds + k))
            sources = [s for f, s in recent if f != k]
            if sources and rng.random() < SYNDICATED_SHARE:
                original = rng.choice(sources)
                story = _Story(writer.prose.title(), original.author, original.paragraphs)
                site.syndicated += 1
            else:
                story = writer.story()
                recent.append((k, story))
            path = f"/gazette-{k}/{published:%Y/%m/%d}/story-{k}-{i}.html"
            head, body = writer.page(k, path, story, published)
            page = writer.padded(head, body, rng.randint(50_000, 150_000))
            data = page.encode("utf-8")
            file = root / path.lstrip("/")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
            site.page_paths.append(path)
            site.page_bytes += len(data)
            items[k].append(_rss_item(path, story, published))
    for k, feed_path in enumerate(site.feed_paths):
        (root / feed_path.lstrip("/")).write_text(_rss(k, items[k]), encoding="utf-8")
    return site


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")[:40]


def _rss_item(path: str, story: _Story, published: datetime) -> str:
    return (
        f"<item><title>{html.escape(story.title)}</title><link>{BASE}{path}</link>"
        f'<guid isPermaLink="true">{BASE}{path}</guid>'
        f"<pubDate>{published:%a, %d %b %Y %H:%M:%S +0000}</pubDate>"
        f"<dc:creator>{html.escape(story.author)}</dc:creator>"
        f"<description>{html.escape(story.paragraphs[0][:200])}</description></item>"
    )


def _rss(feed: int, items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Gazette {feed}</title><link>{BASE}/gazette-{feed}/</link>"
        f"<description>Generated news, feed {feed}</description><language>en</language>"
        + "".join(items)
        + "</channel></rss>\n"
    )


def iter_feed_urls(base_url: str, site: WrittenSite) -> Iterator[str]:
    for path in site.feed_paths:
        yield base_url + path
