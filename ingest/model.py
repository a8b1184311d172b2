"""Plain data passed between the stages. No behaviour beyond small conveniences."""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import zstandard

from ingest.dedup.neardup import Fingerprint
from ingest.health import HealthCounts


@dataclass(frozen=True, slots=True)
class FeedSource:
    """One feed as configured in feeds.toml / OPML."""

    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    #: Consult robots.txt (and its crawl delay) for this feed's pages, sitemaps and archive
    #: pages; false only for sites you own or have permission to crawl.
    obey_robots: bool = True


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators remembered per feed for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class FetchResult:
    """A successful HTTP exchange (200 or 304)."""

    url: str  # final URL after redirects
    status: int  # 200, or 304 when not modified
    body: bytes  # decoded from Content-Encoding, capped; b"" for 304
    headers: dict[str, str]  # lower-cased names
    elapsed: float  # seconds

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass(slots=True)
class FeedEntry:
    """One item of a feed, format-independent (RSS, Atom, RDF, JSON Feed)."""

    guid: str | None
    link: str | None  # absolute, resolved against the feed URL
    title: str | None  # plain text
    summary: str | None  # HTML or text as given
    content: str | None  # full content HTML when the feed carries it
    authors: list[str] = field(default_factory=list)
    published_raw: str | None = None
    published_at: datetime | None = None  # UTC, clamped, else None
    updated_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    language: str | None = None
    position: int = 0  # index in the document, for in-document disambiguation


@dataclass(slots=True)
class ParsedFeed:
    """A feed document after parsing."""

    title: str | None
    link: str | None
    language: str | None
    entries: list[FeedEntry]
    ttl_minutes: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Article:
    """A finished article: what a reader would copy from the page, plus provenance."""

    url: str
    canonical_url: str
    title: str | None
    text: str  # body, paragraphs separated by a blank line
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None  # UTC
    published_raw: str | None = None
    updated_at: datetime | None = None  # the page's own dateModified (UTC)
    language: str | None = None  # ISO 639-1
    description: str | None = None
    image_url: str | None = None
    tags: list[str] = field(default_factory=list)
    site_name: str | None = None
    # field name -> where its value came from: "jsonld", "og", "meta", "feed", "dom"...
    sources: dict[str, str] = field(default_factory=dict)
    # What the page declares: True paywalled, False free, None says nothing (extract/paywall).
    paywalled: bool | None = None
    # (text, its word count): counted once where the page is prepared, and carried with the
    # article to the event loop and the store, which each asked again (issue #16).
    _words: tuple[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def word_count(self) -> int:
        """Whitespace-separated words in the text (counted again if the text is replaced)."""
        words = getattr(self, "_words", None)  # None too in an Article pickled before it had one
        if words is None or words[0] is not self.text:
            words = self._words = (self.text, len(self.text.split()))
        return words[1]


#: zstd level of stored pages. Level 3, zstd's default, compresses a 100 KB page two to three
#: times faster than zlib's level 1 did, into a fifth less space (issue #16: 0.47 against
#: 1.05 ms per ScrapingHub page, 19.7 % of the bytes against 23.5 %).
RAW_COMPRESSION_LEVEL = 3
#: How every zstd frame begins (RFC 8878 §3.1.1). Pages stored before zstd are zlib streams,
#: whose first byte is 0x78 for every window size zlib writes, so the two never mix up.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_codecs = threading.local()


def pack_page(body: bytes) -> bytes:
    """Compress page bytes for storage (zstd)."""
    compressor = getattr(_codecs, "compressor", None)
    if compressor is None:  # one per thread: a zstd context must not be shared at once
        compressor = _codecs.compressor = zstandard.ZstdCompressor(level=RAW_COMPRESSION_LEVEL)
    return bytes(compressor.compress(body))


def unpack_page(stored: bytes) -> bytes:
    """The page bytes of a stored ``raw_pages.body``: zstd, or zlib for rows stored earlier."""
    if stored[:4] != _ZSTD_MAGIC:
        return zlib.decompress(stored)
    decompressor = getattr(_codecs, "decompressor", None)
    if decompressor is None:
        decompressor = _codecs.decompressor = zstandard.ZstdDecompressor()
    return bytes(decompressor.decompress(stored))


@dataclass(frozen=True, slots=True)
class RawPage:
    """The bytes an article came from, kept (compressed) so it can be re-extracted later."""

    url: str
    content_type: str | None
    compressed: bytes  # pack_page: zstd

    @classmethod
    def of(cls, url: str, content_type: str | None, body: bytes) -> RawPage:
        return cls(url, content_type, pack_page(body))

    @property
    def body(self) -> bytes:
        return unpack_page(self.compressed)


@dataclass(slots=True)
class ArticleRecord:
    """An article ready to store, with the identity keys the store needs."""

    article: Article
    link_url: str  # canonicalized feed link (what "already stored?" is asked with)
    guid: str | None
    entry_hash: str  # hash of the feed entry as seen, to notice when it changes
    content_hash: str  # hash of the normalized body text
    fetched_at: datetime
    raw: RawPage | None = None
    # Computed off the write transaction when the page is prepared; None means "compute it
    # when saving" (cheap for the short texts that have none).
    fingerprint: Fingerprint | None = None


@dataclass(frozen=True, slots=True)
class SaveCounts:
    """What a store did with a batch of records."""

    new: int = 0
    updated: int = 0
    duplicates: int = 0

    def __add__(self, other: SaveCounts) -> SaveCounts:
        return SaveCounts(
            self.new + other.new,
            self.updated + other.updated,
            self.duplicates + other.duplicates,
        )


@dataclass(frozen=True, slots=True)
class PageCounts:
    """What became of the entries of one feed (or one backfill day): stored, known, failed,
    and the pages not requested at all (robots.txt said no, or left for the next run)."""

    new: int = 0
    updated: int = 0
    duplicates: int = 0  # stored already (unchanged), or another copy within the batch
    failed_pages: int = 0  # pages that could not be fetched or extracted
    retry_pages: int = 0  # of those, failed for a reason that may pass (worth a refetch)
    blocked: int = 0  # of the failed, answered by a bot or consent wall
    disallowed: int = 0  # not requested: robots.txt disallows them (not a failure)
    deferred: int = 0  # not requested: left for the next run (crawl delay, pause, robots down)

    def __add__(self, other: PageCounts) -> PageCounts:
        return PageCounts(
            self.new + other.new,
            self.updated + other.updated,
            self.duplicates + other.duplicates,
            self.failed_pages + other.failed_pages,
            self.retry_pages + other.retry_pages,
            self.blocked + other.blocked,
            self.disallowed + other.disallowed,
            self.deferred + other.deferred,
        )

    @property
    def requested(self) -> int:
        """Pages asked for that came to something: stored, failed or a copy (an upper bound
        of the copies: a copy known before the run was not requested)."""
        return self.new + self.updated + self.failed_pages

    def saved(self, counts: SaveCounts) -> PageCounts:
        """These counts plus what the store did with a batch."""
        return self + PageCounts(counts.new, counts.updated, counts.duplicates)

    def summary(self) -> str:
        """The counts as a log line says them: ``3 new, 0 updated, ...``."""
        return (
            f"{self.new} new, {self.updated} updated, {self.duplicates} duplicates, "
            f"{self.failed_pages} failed pages, {self.disallowed} disallowed by robots.txt, "
            f"{self.deferred} left for the next run"
        )


class FeedStatus(StrEnum):
    """How one feed's turn in a run ended; the first three are also ``feeds.last_status``."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "error"
    PARKED = "parked"  # not fetched: parked after repeated failures, until `feeds reset`
    SKIPPED = "skipped"  # not fetched: another run holds the feed's lease

    @property
    def attempted(self) -> bool:
        """Whether the feed was fetched in this run (a parked or skipped feed was not)."""
        return self not in (FeedStatus.PARKED, FeedStatus.SKIPPED)


@dataclass(frozen=True, slots=True)
class PagesNote:
    """What a read of the feed's entries says about its pages, for ``feeds list``."""

    disallowed: int  # entries whose page robots.txt disallows
    requested: bool  # whether any page was requested (else ``blocked_by`` stays as it was)
    blocked_by: str | None = None  # set when every page requested was blocked by a wall


@dataclass(frozen=True, slots=True)
class PollCounts:
    """What one read of a feed document saw of its entries (``ingest.feeds.schedule`` learns
    the feed's publishing rate from it). A 304 reads no document: all zero."""

    entries: int = 0  # distinct entries in the document
    new: int = 0  # of those, entries whose article was not stored before
    dated: int = 0  # entries with a publication date
    span: timedelta | None = None  # newest minus oldest of those dates (two dates at least)

    @property
    def seen(self) -> int:
        """Entries already stored: the overlap with what earlier reads saw."""
        return self.entries - self.new

    def __add__(self, other: PollCounts) -> PollCounts:
        spans = [s for s in (self.span, other.span) if s is not None]
        return PollCounts(
            self.entries + other.entries,
            self.new + other.new,
            self.dated + other.dated,
            max(spans, default=None),
        )


@dataclass(frozen=True, slots=True)
class Cadence:
    """What newsflow has learned of how often a feed publishes; kept on the feed between runs."""

    interval: timedelta  # wait after a good fetch, before <ttl>/Cache-Control stretch it
    entries_per_day: float  # mean rate of new entries, smoothed over about a day
    peak_per_day: float  # the fastest rate seen lately, forgotten over days
    listed: int  # entries the feed's document listed when last read
    learned_at: datetime  # the good fetch it was last learned from


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What the feeds table records after one fetch of a feed (``storage`` applies it)."""

    status: FeedStatus
    fetched_at: datetime
    next_fetch_at: datetime
    validators: Validators | None = None  # None: keep what is stored
    error: str | None = None
    parked: bool = False
    pages: PagesNote | None = None  # None: the entries were not read (304, failure)
    cadence: Cadence | None = None  # None: keep what is stored (a failed fetch teaches nothing)


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What happened to one feed in one run: one row of the run's table, decided once."""

    feed_url: str
    name: str | None
    status: FeedStatus
    pages: PageCounts = PageCounts()
    health: HealthCounts = field(default_factory=HealthCounts)  # of this run's new pages
    seconds: float = 0.0
    error: str | None = None
    error_kind: str | None = None  # the error's class, e.g. PermanentFetchError
    failures_in_a_row: int = 0  # this failure included; 0 when the feed worked
    warnings: tuple[str, ...] = ()
    update: FeedUpdate | None = None  # what to record on the feed; None: leave it alone
    blocked_by: str | None = None  # every page requested was blocked: by what ("Cloudflare...")

    @property
    def failed(self) -> bool:
        return self.status is FeedStatus.FAILED


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about a feed between runs."""

    url: str
    validators: Validators = Validators()
    consecutive_failures: int = 0
    next_fetch_at: datetime | None = None
    parked: bool = False
    cadence: Cadence | None = None  # None: nothing learned yet (never read successfully)
