"""Find the pages a site published in a period, from its sitemaps, without fetching any page.

``discover_sitemap_urls`` starts from robots.txt ``Sitemap:`` lines (else the usual
``/sitemap.xml`` locations), walks sitemap indexes breadth-first, skips child sitemaps that
cannot hold pages of the period (their ``lastmod``, or a date in their URL such as
``sitemap-2021-09.xml``), and yields the page URLs whose date falls in the period: the Google
News ``publication_date`` when there is one, else ``lastmod``.

Sitemaps are untrusted and can be huge (50 000 URLs, 50 MiB): they are read with lxml's
``iterparse`` so only one ``<url>`` is in memory at a time, entities are never expanded (a
sitemap that declares any is refused), nothing is loaded from the network, gzip is undone with
a cap on the decoded size, and at most ``MAX_ENTRIES`` entries are read from one document.
"""

from __future__ import annotations

import calendar
import io
import logging
import re
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.etree

from ingest.errors import (
    DeferredError,
    DisallowedError,
    FetchError,
    ParseError,
    TransientFetchError,
)
from ingest.extract.dates.parse import parse_date
from ingest.feeds.parse import parse_feed
from ingest.fetch.client import Fetcher
from ingest.urls import canonicalize_url

__all__ = [
    "MAX_ENTRIES",
    "MAX_SITEMAP_BYTES",
    "Sitemap",
    "SitemapRef",
    "SitemapUrl",
    "child_may_overlap",
    "discover_sitemap_urls",
    "in_range",
    "parse_sitemap",
    "sitemaps_from_robots",
    "url_date_hint",
]

log = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, for the decoded document
MAX_ENTRIES = 50_000  # the sitemaps.org limit per document; more is read no further
MAX_ROBOTS_BYTES = 512 * 1024  # Google reads the first 500 KiB of robots.txt
MAX_URL_CHARS = 4096  # sitemaps.org allows 2 048; anything much longer is junk
MAX_TITLE_CHARS = 1000
WELL_KNOWN_SITEMAPS = (
    "/sitemap.xml",
    "/sitemap_index.xml",
    "/news-sitemap.xml",
    "/sitemap-news.xml",
)
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, text/plain;q=0.8, */*;q=0.5"

# A sitemap's lastmod may be a bare date ("2021-09-13", read as midnight UTC) written in the
# site's zone, so it may have been modified up to ~36 h after the instant we read.
_LASTMOD_SLACK = timedelta(days=2)
# A sitemap named for a period holds pages of that period in the site's zone: up to 14 h
# either side of the same dates in UTC.
_HINT_SLACK = timedelta(days=1)
_FIRST_YEAR, _LAST_YEAR = 1995, 2100

_GZIP_MAGIC = b"\x1f\x8b"
_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# "2021-09", "2021_09_15", "/2021/09/15/": two-digit month and day, so "posts-2021-3.xml"
# (page 3 of 2021?) is read as no more than the year.
_YEAR_MONTH_DAY = re.compile(r"(?<!\d)(\d{4})([-_/])(\d{2})(?:\2(\d{2}))?(?!\d)")
# A year alone only between separators: "sitemap-2021.xml", "/2021/", but not "sitemap2015.xml".
_YEAR = re.compile(r"(?<![0-9A-Za-z])(\d{4})(?![0-9A-Za-z])")
_YEAR_KEYS = frozenset({"year", "yyyy", "yy", "y"})
_MONTH_KEYS = frozenset({"month", "mm", "m"})
_DAY_KEYS = frozenset({"day", "dd", "d"})

# Never resolve entities, read a DTD, touch the network or lift libxml2's size limits.
_NAMESPACE_ERRORS = lxml.etree.ErrorDomains.NAMESPACE
_SAFE_XML = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """A child sitemap named by a sitemap index."""

    url: str
    lastmod: datetime | None = None


@dataclass(frozen=True, slots=True)
class SitemapUrl:
    """A page listed in a sitemap, with the dates and title the sitemap gives for it."""

    url: str
    published_at: datetime | None = None  # Google News news:publication_date (UTC)
    lastmod: datetime | None = None  # UTC
    title: str | None = None  # Google News news:title


@dataclass(slots=True)
class Sitemap:
    """One sitemap document: an index (``children``) or a list of pages (``urls``)."""

    children: list[SitemapRef] = field(default_factory=list)
    urls: list[SitemapUrl] = field(default_factory=list)


def sitemaps_from_robots(body: bytes, *, url: str) -> list[str]:
    """Return the sitemap URLs a robots.txt names, absolute, in order, without repeats."""
    found: list[str] = []
    for line in body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace").splitlines():
        match = _ROBOTS_SITEMAP.match(line.lstrip("\ufeff"))
        location = _absolute(match.group(1), url) if match else None
        if location is not None and location not in found:
            found.append(location)
    return found


def parse_sitemap(body: bytes, *, url: str, now: datetime) -> Sitemap:
    """Parse the sitemap ``body`` fetched from ``url`` (XML, gzip, plain text, RSS or Atom).

    ``now`` bounds the dates read. Raises ``ParseError`` when the body is not a sitemap.
    """
    data = _gunzip(body, url) if body.startswith(_GZIP_MAGIC) else body
    if len(data) > MAX_SITEMAP_BYTES:
        raise ParseError(f"the sitemap at {url} is larger than {MAX_SITEMAP_BYTES >> 20} MiB")
    if _looks_like_xml(data):
        return _parse_xml(data, url=url, now=now)
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ParseError(f"the sitemap at {url} is empty")
    return _parse_text(data, url=url)


def in_range(item: SitemapUrl, since: datetime, until: datetime) -> bool:
    """Tell whether the page's date is in ``[since, until)`` (``until`` is exclusive).

    The date is the news publication date when given, else ``lastmod``. A page with neither
    is *not* in range: a backfill never downloads a page whose date it cannot place.
    """
    when = item.published_at or item.lastmod
    return when is not None and since <= when < until


def child_may_overlap(ref: SitemapRef, since: datetime, until: datetime | None = None) -> bool:
    """Tell whether the child sitemap ``ref`` may list pages dated in ``[since, until)``.

    A child last modified (well) before ``since`` cannot list a newer page, and one whose URL
    names a period (``sitemap-2021-09.xml``) lists only pages of about that period.
    """
    if ref.lastmod is not None and ref.lastmod + _LASTMOD_SLACK < since:
        return False
    period = url_date_hint(ref.url)
    if period is None:
        return True
    first = datetime.combine(period[0], time(), UTC) - _HINT_SLACK
    end = datetime.combine(period[1], time(), UTC) + timedelta(days=1) + _HINT_SLACK
    return end > since and (until is None or first < until)


def url_date_hint(url: str) -> tuple[date, date] | None:
    """Return the first and last day of the period a URL names, or None when it names none.

    Reads ``yyyy=2021&mm=09`` style query parameters, then dates written in the path or query:
    ``2021-09-15``, ``2021_09``, ``/2021/09/``, and a year alone between separators
    (``sitemap-2021.xml``). When several are written, the narrowest wins if every other one
    contains it; periods that contradict each other give None.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    periods = _query_periods(parts.query)
    for text in (parts.path, parts.query):
        periods += _written_periods(text)
    if not periods:
        return None
    narrowest = min(periods, key=lambda period: period[1] - period[0])
    if all(first <= narrowest[0] and narrowest[1] <= last for first, last in periods):
        return narrowest
    return None


async def discover_sitemap_urls(
    site_url: str,
    *,
    fetcher: Fetcher,
    since: datetime,
    until: datetime,
    now: datetime,
    max_sitemaps: int = 200,
    max_bytes: int = MAX_SITEMAP_BYTES,
    obey_robots: bool = True,
) -> AsyncIterator[SitemapUrl]:
    """Yield the pages of ``site_url``'s site dated in ``[since, until)``, each URL once.

    Sitemaps come from robots.txt, else (or when none of those can be read) from the
    well-known locations; indexes are walked breadth-first, at most ``max_sitemaps``
    documents. A child sitemap that fails is logged and skipped; one that robots.txt
    disallows is never requested (unless ``obey_robots`` is false). Raises ``ParseError``
    when no sitemap at all could be read, or ``TransientFetchError`` when that may be
    temporary (a sitemap left for the next run counts as such).
    """
    origin = _origin(site_url)
    walk = _Walk(
        fetcher, since=since, until=until, now=now, max_bytes=max_bytes, obey_robots=obey_robots
    )
    listed = await _robots_sitemaps(origin, fetcher, walk.failures)
    well_known = [origin + path for path in WELL_KNOWN_SITEMAPS]
    walk.guessed.update(well_known)
    for starts in (listed, well_known):
        async for item in walk.run(starts, max_sitemaps):
            yield item
        if walk.read_any:
            return
    walk.fail(origin)


class _Walk:
    """The state of one breadth-first walk over a site's sitemaps."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        since: datetime,
        until: datetime,
        now: datetime,
        max_bytes: int,
        obey_robots: bool = True,
    ) -> None:
        self.fetcher, self.since, self.until, self.now = fetcher, since, until, now
        self.max_bytes = max_bytes
        self.obey_robots = obey_robots
        self.visited: set[str] = set()
        self.yielded: set[str] = set()
        self.fetched = 0
        self.read_any = False
        self.guessed: set[str] = set()  # well-known locations: their absence is no news
        self.failures: list[str] = []
        self.transient: TransientFetchError | None = None

    async def run(self, starts: Iterable[str], max_sitemaps: int) -> AsyncIterator[SitemapUrl]:
        queue = deque(url for url in starts if self._first_visit(url))
        while queue:
            if self.fetched >= max_sitemaps:
                log.warning("stopped after %d sitemaps; %d not read", max_sitemaps, len(queue))
                return
            url = queue.popleft()
            sitemap = await self._read(url)
            if sitemap is None:
                continue
            for ref in sitemap.children:
                if not child_may_overlap(ref, self.since, self.until):
                    log.debug("skipped sitemap %s: outside the period", ref.url)
                elif self._first_visit(ref.url):
                    queue.append(ref.url)
            for item in sitemap.urls:
                key = _key(item.url)
                if in_range(item, self.since, self.until) and key not in self.yielded:
                    self.yielded.add(key)
                    yield item

    async def _read(self, url: str) -> Sitemap | None:
        """Fetch and parse one sitemap; log, record and return None when that fails."""
        self.fetched += 1
        try:
            result = await self.fetcher.fetch(
                url, max_bytes=self.max_bytes, accept=SITEMAP_ACCEPT, robots=self.obey_robots
            )
            if result.url != url and not self._first_visit(result.url):
                return None  # redirected to a sitemap already read
            sitemap = parse_sitemap(result.body, url=result.url, now=self.now)
        except (FetchError, ParseError) as exc:
            quiet = url in self.guessed or isinstance(exc, DisallowedError)
            log.log(logging.INFO if quiet else logging.WARNING, "skipped sitemap %s: %s", url, exc)
            self.failures.append(f"{urlsplit(url).path or url}: {exc}")
            if isinstance(exc, TransientFetchError):
                self.transient = exc
            elif isinstance(exc, DeferredError):
                self.transient = TransientFetchError(str(exc), url=url)
            return None
        self.read_any = True
        return sitemap

    def _first_visit(self, url: str) -> bool:
        key = _key(url)
        if key in self.visited:
            return False
        self.visited.add(key)
        return True

    def fail(self, origin: str) -> NoReturn:
        """Raise the error that says why no sitemap of ``origin`` could be read."""
        reasons = "; ".join(self.failures)
        if self.transient is not None:
            message = f"could not read any sitemap for {origin} ({reasons})"
            raise TransientFetchError(message, url=origin) from self.transient
        raise ParseError(f"no sitemap found for {origin} ({reasons})")


async def _robots_sitemaps(origin: str, fetcher: Fetcher, failures: list[str]) -> list[str]:
    """Return the sitemaps robots.txt names; a robots.txt that fails names none.

    robots.txt comes through the fetcher's politeness cache: fetched at most once a day per
    origin, shared with the robots.txt checks of every page.
    """
    url = f"{origin}/robots.txt"
    rules = await fetcher.robots_rules(url)
    if rules.unreachable_now:
        failures.append(rules.reason)
        return []
    listed = sitemaps_from_robots(rules.body.encode("utf-8"), url=url)
    if not listed:
        failures.append(rules.reason or "robots.txt has no Sitemap line")
    return listed


# Reading documents


def _gunzip(body: bytes, url: str) -> bytes:
    """Undo gzip (every member), refusing output beyond ``MAX_SITEMAP_BYTES``."""
    out = bytearray()
    data = body
    while data.startswith(_GZIP_MAGIC):
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            # max_length bounds each step's output, so a bomb stops at the cap.
            out += stream.decompress(data, MAX_SITEMAP_BYTES - len(out) + 1)
            while stream.unconsumed_tail and len(out) <= MAX_SITEMAP_BYTES:
                out += stream.decompress(stream.unconsumed_tail, MAX_SITEMAP_BYTES - len(out) + 1)
        except zlib.error as exc:
            raise ParseError(f"the gzip-compressed sitemap at {url} is corrupt: {exc}") from exc
        if len(out) > MAX_SITEMAP_BYTES:
            raise ParseError(
                f"the sitemap at {url} is larger than {MAX_SITEMAP_BYTES >> 20} MiB uncompressed"
            )
        if not stream.eof:
            raise ParseError(f"the gzip-compressed sitemap at {url} is cut short")
        data = stream.unused_data
    return bytes(out)


def _looks_like_xml(data: bytes) -> bool:
    head = data[:1024].lstrip()
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 is only ever XML here
        return True
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


def _parse_text(data: bytes, *, url: str) -> Sitemap:
    """Read a plain-text sitemap: one absolute URL per line."""
    urls: list[SitemapUrl] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        location = _absolute(line.strip().lstrip("\ufeff"), url, relative=False)
        if location is not None:
            urls.append(SitemapUrl(location))
            if len(urls) >= MAX_ENTRIES:
                log.warning("sitemap %s lists more than %d URLs; read no further", url, MAX_ENTRIES)
                break
    if not urls:
        raise ParseError(f"the document at {url} is not a sitemap: neither XML nor a list of URLs")
    return Sitemap(urls=urls)


def _parse_xml(data: bytes, *, url: str, now: datetime) -> Sitemap:
    """Stream an XML sitemap, keeping only the ``<url>``/``<sitemap>`` being read in memory."""
    sitemap = Sitemap()
    depth = 0
    root = ""
    # recover=True only so that an undeclared prefix ("news:" with no xmlns:news, common in
    # hand-written sitemaps) does not stop the parse; any other error is refused below.
    events = lxml.etree.iterparse(
        io.BytesIO(data), events=("start", "end"), recover=True, **_SAFE_XML
    )
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    root = _check_root(element, url)
                    if root in ("rss", "feed", "RDF"):
                        return _parse_feed_sitemap(data, url=url, now=now)
                continue
            depth -= 1
            if depth != 1:
                continue
            if len(sitemap.urls) + len(sitemap.children) >= MAX_ENTRIES:
                log.warning(
                    "sitemap %s lists more than %d entries; read no further", url, MAX_ENTRIES
                )
                break
            _read_entry(element, root, sitemap, url=url, now=now)
            # Free what was read: the element, and the root's reference to it.
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except lxml.etree.XMLSyntaxError as exc:
        raise ParseError(f"the sitemap at {url} is not well-formed XML: {exc}") from exc
    _refuse_malformed(events.error_log, url)
    if not root:
        raise ParseError(f"the sitemap at {url} is not well-formed XML: it has no root element")
    return sitemap


def _refuse_malformed(errors: lxml.etree._ListErrorLog, url: str) -> None:
    """Raise ParseError for the first error that is not an undeclared namespace prefix."""
    for error in errors:
        if error.level >= lxml.etree.ErrorLevels.ERROR and error.domain != _NAMESPACE_ERRORS:
            problem = f"{error.message.strip()} (line {error.line}, column {error.column})"
            raise ParseError(f"the sitemap at {url} is not well-formed XML: {problem}")


def _check_root(element: lxml.etree._Element, url: str) -> str:
    """Return the root's local name, refusing documents that are not sitemaps or feeds."""
    dtd = element.getroottree().docinfo.internalDTD
    # Refused rather than left unexpanded: a URL cut at an entity would be silently wrong.
    if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
        raise ParseError(f"the sitemap at {url} declares XML entities, which sitemaps never need")
    name = _local(element.tag)
    if name not in ("urlset", "sitemapindex", "rss", "feed", "RDF"):
        raise ParseError(
            f"the document at {url} is not a sitemap: its root element is <{name}>, "
            "not <urlset> or <sitemapindex>"
        )
    return name


def _read_entry(
    element: lxml.etree._Element, root: str, sitemap: Sitemap, *, url: str, now: datetime
) -> None:
    """Add the ``<url>`` or ``<sitemap>`` that just ended to ``sitemap``."""
    name = _local(element.tag)
    fields: dict[str, str | None] = {}
    for child in element:
        child_name = _local(child.tag)
        if child_name == "news":  # Google News: <news:news><news:publication_date>...
            for part in child:
                fields.setdefault(_local(part.tag), _text(part))
        else:
            fields.setdefault(child_name, _text(child))
    location = _absolute(fields.get("loc"), url)
    if location is None:
        return
    lastmod = parse_date(fields.get("lastmod"), now=now)
    if root == "sitemapindex" and name == "sitemap":
        sitemap.children.append(SitemapRef(location, lastmod))
    elif root == "urlset" and name == "url":
        title = _SPACES.sub(" ", fields.get("title") or "").strip()[:MAX_TITLE_CHARS]
        published = parse_date(fields.get("publication_date"), now=now)
        sitemap.urls.append(SitemapUrl(location, published, lastmod, title or None))


def _parse_feed_sitemap(data: bytes, *, url: str, now: datetime) -> Sitemap:
    """Read an RSS or Atom feed used as a sitemap (search engines accept both)."""
    feed = parse_feed(data, url=url, now=now)
    return Sitemap(
        urls=[
            SitemapUrl(entry.link, entry.published_at, entry.updated_at, entry.title)
            for entry in feed.entries
            if entry.link
        ]
    )


def _local(tag: object) -> str:
    """Return an element's name without namespace or prefix (an undeclared "news:" stays in)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _text(element: lxml.etree._Element) -> str | None:
    text = element.text
    return text.strip() if isinstance(text, str) else None


def _absolute(value: str | None, base: str, *, relative: bool = True) -> str | None:
    """Resolve a location against ``base``; keep only http(s) URLs of sane length."""
    if not value or len(value) > MAX_URL_CHARS:
        return None
    try:
        absolute = value[:8].lower().startswith(("http://", "https://"))
        location = urljoin(base, value) if relative and not absolute else value
        parts = urlsplit(location)
    except ValueError:
        return None
    return location if parts.scheme in ("http", "https") and parts.netloc else None


def _origin(site_url: str) -> str:
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an absolute http(s) URL: {site_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _key(url: str) -> str:
    """Return the form two spellings of one URL share (the URL itself if it is odd)."""
    try:
        return canonicalize_url(url)
    except ValueError:
        return url


# Date hints in URLs


def _query_periods(query: str) -> list[tuple[date, date]]:
    """Read ``year=2021&month=9&day=15`` (or yyyy/mm/dd, y/m/d) into a period."""
    fields = {key.lower(): value.strip() for key, value in parse_qsl(query)}
    year = next((fields[key] for key in _YEAR_KEYS if key in fields), None)
    month = next((fields[key] for key in _MONTH_KEYS if key in fields), None)
    day = next((fields[key] for key in _DAY_KEYS if key in fields), None)
    if year is None or not year.isdigit() or len(year) != 4:
        return []
    if month is None or not month.isdigit():
        return _period(year, None, None)
    return _period(year, month, day if day and day.isdigit() else None)


def _written_periods(text: str) -> list[tuple[date, date]]:
    periods: list[tuple[date, date]] = []
    for match in _YEAR_MONTH_DAY.finditer(text):
        periods += _period(match[1], match[3], match[4])
    for match in _YEAR.finditer(text):
        periods += _period(match[1], None, None)
    return periods


def _period(year: str, month: str | None, day: str | None) -> list[tuple[date, date]]:
    """Return ``[(first, last)]`` for a year, month or day, or ``[]`` if it is no real date."""
    number = int(year)
    if not _FIRST_YEAR <= number <= _LAST_YEAR:
        return []
    try:
        if month is None:
            return [(date(number, 1, 1), date(number, 12, 31))]
        if day is None:
            last_day = calendar.monthrange(number, int(month))[1]
            return [(date(number, int(month), 1), date(number, int(month), last_day))]
        exact = date(number, int(month), int(day))
    except (ValueError, calendar.IllegalMonthError):
        return []
    return [(exact, exact)]
