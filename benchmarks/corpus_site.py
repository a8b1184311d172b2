"""Write a news site of real publisher pages for the throughput benchmark: K feeds of M pages.

The pages are the public corpora's (``../shared/corpora``, loaded as ``extraction.py`` loads
them): the ScrapingHub article-extraction benchmark's 181 news pages and trafilatura's
evaluation pages, shuffled together with a fixed seed, their bytes unchanged. Each feed is an
RSS 2.0 file listing its pages by absolute ``{base}`` links, as ``synthetic_site.py`` writes
them, so the same loopback servers serve both. Pages are written as ``.html`` files and must
be served as bare ``text/html`` (no charset): many declare a legacy charset in the page only.

The corpora hold about 1,200 usable pages: a larger site is refused rather than padded with
copies, which newsflow would (rightly) store once.
"""

from __future__ import annotations

import html
import random
from datetime import timedelta
from pathlib import Path

from extraction import load_scrapinghub, load_trafilatura
from synthetic_site import BASE, T0, SiteSpec, WrittenSite


def corpus_pages(corpora: Path, seed: int = 7) -> list[bytes]:
    """Every non-empty page of both corpora, in a shuffled but fixed order."""
    pages = [p.html for p in load_scrapinghub(corpora) + load_trafilatura(corpora) if p.html]
    random.Random(seed).shuffle(pages)
    return pages


def write_corpus_site(root: Path, spec: SiteSpec, corpora: Path) -> WrittenSite:
    """Write ``spec.feeds`` feeds of ``spec.per_feed`` corpus pages each under ``root``."""
    pages = corpus_pages(corpora, spec.seed)
    if spec.articles > len(pages):
        raise ValueError(f"{spec.articles} pages asked for; the corpora hold {len(pages)}")
    site = WrittenSite(root, [f"/publisher-{k}/rss.xml" for k in range(spec.feeds)])
    for k, feed_path in enumerate(site.feed_paths):
        items = []
        for i in range(spec.per_feed):
            body = pages[k * spec.per_feed + i]
            path = f"/publisher-{k}/page-{i}.html"
            file = root / path.lstrip("/")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(body)
            site.page_paths.append(path)
            site.page_bytes += len(body)
            published = T0 + timedelta(minutes=7 * (k * spec.per_feed + i))
            items.append(
                f"<item><title>Story {i} of publisher {k}</title><link>{BASE}{path}</link>"
                f'<guid isPermaLink="true">{BASE}{path}</guid>'
                f"<pubDate>{published:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
            )
        (root / feed_path.lstrip("/")).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{html.escape(f'Publisher {k}')}</title><link>{BASE}/publisher-{k}/</link>"
            f"<description>Real pages</description>{''.join(reversed(items))}</channel></rss>\n",
            encoding="utf-8",
        )
    return site
