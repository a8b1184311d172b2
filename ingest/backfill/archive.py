"""Walk a feed's history back to a date: RFC 5005 archives, paged feeds, WordPress ``?paged=N``.

A feed shows only its latest entries. Older ones are reachable when the feed links to them:
an archived feed (RFC 5005 §4) names the previous archive document with
``rel="prev-archive"``; a paged feed (§3, and JSON Feed's ``next_url``) names the next page
with ``rel="next"``, which in practice holds older entries (some sites say ``rel="previous"``
instead). WordPress links nothing but serves older pages at ``?paged=2``, ``?paged=3``...

``walk_archive`` follows those pages newest to oldest and stops at the first page whose dated
entries are all older than ``since``, at a page or a set of entries already seen, at a page
that is gone (404/410), or after ``max_pages``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.etree

from ingest.errors import BlockedAddressError, DisallowedError, ParseError, PermanentFetchError
from ingest.feeds.parse import parse_feed
from ingest.fetch.client import Fetcher
from ingest.model import FeedEntry, FetchResult
from ingest.urls import canonicalize_url

__all__ = ["ArchiveLinks", "archive_links", "walk_archive", "wordpress_paged_url"]

log = logging.getLogger(__name__)

ARCHIVE_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
_GONE = frozenset({404, 410})
_CONTAINERS = frozenset({"feed", "channel"})  # Atom's root; RSS's and RDF's <channel>
_MAX_HREF_CHARS = 4096


@dataclass(frozen=True, slots=True)
class ArchiveLinks:
    """The links a feed document gives to other documents of the same feed."""

    prev_archive: str | None = None  # RFC 5005 §4: the archive just before this one
    next_archive: str | None = None
    next: str | None = None  # RFC 5005 §3 paged feeds, JSON Feed next_url: older entries
    previous: str | None = None  # rel="previous"/"prev": usually newer, on some sites older
    current: str | None = None  # RFC 5005 §4: the subscription document
    generator: str | None = None  # e.g. "https://wordpress.org/?v=6.4.2"

    def older(self) -> list[str]:
        """Return the links that may lead to older entries, the likeliest first."""
        return [link for link in (self.prev_archive, self.next, self.previous) if link]


def archive_links(body: bytes, *, url: str) -> ArchiveLinks:
    """Read the archive and paging links of the feed document ``body`` fetched from ``url``.

    Only links of the feed itself count (Atom ``<feed>``, RSS ``<channel>`` with atom:link),
    not those of its entries. A document that cannot be read has no links.
    """
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _json_feed_links(body, url)
    parser = lxml.etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        recover=True,  # feedparser reads broken feeds loosely; find their links too
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = lxml.etree.fromstring(body, parser)
    except lxml.etree.XMLSyntaxError:
        return ArchiveLinks()
    if root is None:
        return ArchiveLinks()
    containers = [root] if _local(root.tag) in _CONTAINERS else []
    containers += [child for child in root if _local(child.tag) == "channel"]
    rels: dict[str, str] = {}
    generator: str | None = None
    for container in containers:
        for element in container:
            name = _local(element.tag)
            if name == "link":
                href = _absolute(element.get("href"), url)
                for rel in (element.get("rel") or "").lower().split():
                    if href is not None:
                        rels.setdefault(rel, href)
            elif name == "generator" and generator is None:
                text = " ".join((element.text or "").split())
                generator = " ".join(filter(None, (text, element.get("uri")))) or None
    return ArchiveLinks(
        prev_archive=rels.get("prev-archive"),
        next_archive=rels.get("next-archive"),
        next=rels.get("next"),
        previous=rels.get("previous") or rels.get("prev"),
        current=rels.get("current"),
        generator=generator,
    )


def wordpress_paged_url(feed_url: str, page: int) -> str:
    """Return ``feed_url`` asking for page ``page`` (WordPress ``paged=N``; 1 is the feed itself).

    Other query parameters are kept as written; the fragment is dropped.
    """
    if page < 1:
        raise ValueError(f"page numbers start at 1, not {page}")
    parts = urlsplit(feed_url)
    kept = [item for item in parts.query.split("&") if item and item.split("=")[0] != "paged"]
    if page > 1:
        kept.append(f"paged={page}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), ""))


async def walk_archive(
    feed_url: str,
    *,
    fetcher: Fetcher,
    since: datetime,
    now: datetime,
    max_pages: int = 100,
    max_bytes: int,
    obey_robots: bool = True,
) -> AsyncIterator[FeedEntry]:
    """Yield the entries of ``feed_url`` and of its older pages, each once, newest page first.

    The feed itself is a subscription, fetched without robots.txt; its older pages are
    crawled: one that robots.txt disallows ends the walk unrequested (unless ``obey_robots``
    is false), one left for the next run (crawl delay) raises DeferredError.

    Every entry of a page is yielded, including those older than ``since``: the caller keeps
    the ones in its range. Archive links are followed when the feed has any; otherwise
    ``?paged=2,3...`` is tried, which costs one request on a site that ignores it (its answer
    repeats the feed). Errors reading the feed itself are raised; on an older page, a gone or
    unreadable page ends the walk (logged), while a transient fetch error is raised, so the
    caller can retry the walk later.
    """
    pages: set[str] = set()
    entries: set[str] = set()
    url: str | None = feed_url
    paged = 0  # >= 1 once walking WordPress pages: the number of the page just read
    for number in range(1, max_pages + 1):
        if url is None:
            return
        result = await _fetch(
            fetcher, url, max_bytes=max_bytes, first=number == 1, robots=obey_robots
        )
        if result is None:
            return
        if not _first_visit(pages, url, result.url):
            log.info("stopped walking %s at %s: a page already read", feed_url, url)
            return
        try:
            feed = parse_feed(result.body, url=result.url, headers=result.headers, now=now)
        except ParseError as exc:
            if number == 1:
                raise
            log.warning("stopped walking %s at %s: %s", feed_url, url, exc)
            return
        fresh = [entry for entry in feed.entries if _entry_key(entry) not in entries]
        if not fresh:
            log.info("stopped walking %s at %s: no entry not seen before", feed_url, url)
            return
        for entry in fresh:
            entries.add(_entry_key(entry))
            yield entry
        if all(_older(entry, since) for entry in feed.entries):
            return
        links = archive_links(result.body, url=result.url)
        if number == 1 and not links.older():
            paged = 1
        if paged:
            paged += 1
            url = wordpress_paged_url(feed_url, paged)
        else:
            url = next((link for link in links.older() if _key(link) not in pages), None)
    if url is not None:
        log.warning("stopped walking %s after %d pages", feed_url, max_pages)


async def _fetch(
    fetcher: Fetcher, url: str, *, max_bytes: int, first: bool, robots: bool
) -> FetchResult | None:
    """Fetch one page; None when an older page is gone, refused or disallowed, which ends
    the walk. The first page is the feed itself: a subscription, not crawled."""
    try:
        return await fetcher.fetch(
            url, max_bytes=max_bytes, accept=ARCHIVE_ACCEPT, robots=robots and not first
        )
    except (PermanentFetchError, BlockedAddressError, DisallowedError) as exc:
        if first:
            raise
        level = logging.INFO if exc.status in _GONE else logging.WARNING
        log.log(level, "stopped walking at %s: %s", url, exc)
        return None


def _first_visit(pages: set[str], *urls: str) -> bool:
    """Record ``urls`` as read; tell whether the page they name was new."""
    keys = {_key(url) for url in urls}
    new = not keys & pages
    pages.update(keys)
    return new


def _older(entry: FeedEntry, since: datetime) -> bool:
    when = entry.published_at or entry.updated_at
    return when is not None and when < since


def _entry_key(entry: FeedEntry) -> str:
    return entry.guid or entry.link or f"{entry.title}\n{entry.published_raw}"


def _json_feed_links(body: bytes, url: str) -> ArchiveLinks:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ArchiveLinks()
    next_url = document.get("next_url") if isinstance(document, dict) else None
    return ArchiveLinks(next=_absolute(next_url, url))


def _local(tag: object) -> str:
    return tag.rpartition("}")[2].rpartition(":")[2] if isinstance(tag, str) else ""


def _absolute(value: object, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_HREF_CHARS:
        return None
    try:
        link = urljoin(base, value.strip())
        parts = urlsplit(link)
    except ValueError:
        return None
    return link if parts.scheme in ("http", "https") and parts.netloc else None


def _key(url: str) -> str:
    try:
        return canonicalize_url(url)
    except ValueError:
        return url
