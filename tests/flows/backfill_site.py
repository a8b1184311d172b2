"""A small news site with a sitemap index, written into a folder for SiteServer to serve.

robots.txt names /sitemap_index.xml, which lists a Google News sitemap for September 2021, a
gzipped sitemap of older posts dated only by lastmod, and an August sitemap that a backfill of
mid-September must never open. One page per day from 2021-09-10 to 2021-09-20.
"""

from __future__ import annotations

import gzip
from datetime import date, timedelta
from pathlib import Path

FIRST_DAY = date(2021, 9, 10)
DAYS = 11
PARAGRAPH = (
    "The harbour authority said the {n} ferry crossing of the day left on time, and the "
    "operators reported that passenger numbers on the {day} route were in line with the "
    "forecast published in the spring, when the new timetable was first announced."
)


def page_path(day: date) -> str:
    return f"/news/{day:%Y/%m/%d}/ferry-report.html"


def august_path(n: int) -> str:
    return f"/news/2021/08/{n:02d}/august-story.html"


def _page(day: date) -> str:
    title = f"Ferry report for {day:%A %d %B %Y}"
    paragraphs = "\n".join(
        f"<p>{PARAGRAPH.format(n=k, day=day.isoformat())} Report {k} of {day}.</p>"
        for k in range(1, 6)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Harbour News</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "{title}", "datePublished": "{day.isoformat()}T09:30:00Z",
"author": {{"@type": "Person", "name": "Ada Pier"}}}}</script>
<meta property="og:site_name" content="Harbour News"></head>
<body><nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<article><h1>{title}</h1><p class="byline">By Ada Pier</p>{paragraphs}</article>
<footer>© Harbour News</footer></body></html>
"""


def write_site(root: Path) -> list[date]:
    """Write the site under ``root``; return the days that have a page."""
    days = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
    for day in days:
        path = root / page_path(day).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_page(day), encoding="utf-8")
    for n in (1, 2):
        path = root / august_path(n).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_page(date(2021, 8, n)), encoding="utf-8")
    (root / "robots.txt").write_text(
        "User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap_index.xml\n",
        encoding="utf-8",
    )
    (root / "sitemap_index.xml").write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemaps/news-2021-09.xml</loc><lastmod>2021-09-20</lastmod></sitemap>
  <sitemap><loc>{base}/sitemaps/posts-2021-08.xml</loc><lastmod>2021-08-31</lastmod></sitemap>
  <sitemap><loc>{base}/sitemaps/more.xml.gz</loc><lastmod>2021-09-20</lastmod></sitemap>
</sitemapindex>
""",
        encoding="utf-8",
    )
    news = "\n".join(
        f"""  <url><loc>{{base}}{page_path(day)}</loc><news:news>
    <news:publication><news:name>Harbour News</news:name>
      <news:language>en</news:language></news:publication>
    <news:publication_date>{day.isoformat()}T09:30:00Z</news:publication_date>
    <news:title>Ferry report</news:title></news:news></url>"""
        for day in days[::2]
    )
    (root / "sitemaps").mkdir(exist_ok=True)
    (root / "sitemaps" / "news-2021-09.xml").write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{news}
</urlset>
""",
        encoding="utf-8",
    )
    august = "\n".join(
        f"  <url><loc>{{base}}{august_path(n)}</loc><lastmod>2021-08-0{n}</lastmod></url>"
        for n in (1, 2)
    )
    (root / "sitemaps" / "posts-2021-08.xml").write_text(
        f'<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{august}\n</urlset>\n",
        encoding="utf-8",
    )
    (root / "feed.xml").write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour News</title>
<link>{base}/</link><description>News</description></channel></rss>
""",
        encoding="utf-8",
    )
    return days


def write_gzipped_sitemap(root: Path, base_url: str) -> None:
    """The odd days, dated by lastmod only, in a gzipped sitemap (served byte for byte, so it
    carries the real base URL and is written once the server has its port)."""
    days = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
    more = "\n".join(
        f"  <url><loc>{base_url}{page_path(day)}</loc>"
        f"<lastmod>{day.isoformat()}T10:00:00+00:00</lastmod></url>"
        for day in days[1::2]
    )
    (root / "sitemaps" / "more.xml.gz").write_bytes(
        gzip.compress(
            f'<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{more}\n</urlset>\n".encode()
        )
    )
