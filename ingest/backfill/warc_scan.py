"""Read a WARC file record by record and keep the HTML pages of the wanted sites.

FastWARC parses the file (``benchmarks/warc.py`` measured its bare loop four to seven times
faster than warcio's on the same file). Most records of a news archive belong to sites nobody
asked for, so a record costs as little as possible until it is known to be wanted: FastWARC
hands over only ``response`` (and ``warcinfo``) records, the target URI's site is looked up
once per host, and only a page of a wanted site has its HTTP header parsed and its payload
read.

The scan hands out :class:`ScanStep` values: the pages kept since the previous step, the
records read, and the offset of the first record not yet handed out, where a later run may
resume. A record is handed out only once the next one has begun, or once the end of the file
is checked: FastWARC stops without a word at a cut gzip member and may even hand out the cut
record, so the last record is checked against the file's last bytes (each gzip member whole,
the record as long as its ``Content-Length``). A cut file yields everything before the cut
record, then raises :class:`TruncatedWarcError`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from ingest.backfill.warc_stream import TailReader
from ingest.errors import IngestError, ParseError
from ingest.urls import site_of

__all__ = ["ScanStep", "SiteFilter", "TruncatedWarcError", "WarcPage", "scan_warc"]

_GZIP_MAGIC = b"\x1f\x8b"
_WARCINFO = WarcRecordType.warcinfo
_READ = WarcRecordType.response | _WARCINFO
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
#: Hosts whose site is remembered (a CC-NEWS file names tens of thousands).
_SITE_CACHE_SIZE = 100_000


class TruncatedWarcError(ParseError):
    """The WARC file ends inside a record: what came before the cut was handed out."""


@dataclass(frozen=True, slots=True)
class WarcPage:
    """The HTML page of one ``response`` record of a wanted site."""

    url: str  # WARC-Target-URI
    site: str  # its registrable domain (ingest.urls.site_of)
    captured_at: datetime  # WARC-Date (UTC)
    content_type: str | None  # the HTTP Content-Type
    body: bytes  # the HTTP payload, transfer and content codings undone
    offset: int  # where its record starts in the file


@dataclass(frozen=True, slots=True)
class ScanStep:
    """What the scan read since its previous step."""

    pages: tuple[WarcPage, ...]
    records: int  # WARC records read (every type)
    skipped: int  # responses of wanted sites that are no page to keep (not 200, too large...)
    resume_offset: int  # where the first record not yet handed out starts; 0: from the start
    position: int  # bytes of the file read so far
    done: bool = False  # the file was read to its end and its end checked


class SiteFilter:
    """Which sites to keep: the given ones, or every site when ``sites`` is None."""

    def __init__(self, sites: frozenset[str] | None) -> None:
        self.sites = sites
        self._by_authority: dict[str, str | None] = {}

    def site(self, url: str) -> str | None:
        """The site of ``url`` when it is wanted, else None (an unreadable URL is not)."""
        authority = url.split("/", 3)[:3]
        key = "/".join(authority)
        if key in self._by_authority:
            return self._by_authority[key]
        try:
            site: str | None = site_of(url.strip().strip("<>"))
        except ValueError:
            site = None
        if site is not None and self.sites is not None and site not in self.sites:
            site = None
        if len(self._by_authority) >= _SITE_CACHE_SIZE:
            self._by_authority.clear()
        self._by_authority[key] = site
        return site


@dataclass(slots=True)
class _Held:
    """The record read last: handed out once the next one begins (or the end is checked)."""

    offset: int
    page: WarcPage | None
    skipped: bool


def scan_warc(
    stream: TailReader,
    *,
    wanted: SiteFilter,
    max_body: int,
    step_pages: int = 50,
    step_records: int = 5000,
) -> Iterator[ScanStep]:
    """Read ``stream`` to its end, handing out its wanted pages in steps.

    Only ``response`` records are read (FastWARC skips the others natively, but for
    ``warcinfo``, which tells a WARC file with no response from no WARC file): ``records``
    counts the responses. A step comes every ``step_pages`` pages or ``step_records``
    records, and at the end (with ``done``). Raises :class:`TruncatedWarcError` after the
    last good step when the file is cut short, ``ParseError`` when it is no WARC file the
    parser can read, and whatever error reading the bytes raised (a fetch error).
    """
    start = stream.tell()
    records = skipped = 0
    pages: list[WarcPage] = []
    held: _Held | None = None
    resumable = True  # one gzip member per record (or no gzip): offsets are record starts
    checked = 0  # records whose start was checked for a gzip member of its own
    iterator = _records(stream)
    gzipped: bool | None = None  # whether the file is gzip: known once reading began
    warcinfo = False  # a warcinfo record was read: a WARC file, if one with no response
    while (record := _next_record(iterator, stream)) is not None:
        if record.record_type == _WARCINFO:
            warcinfo = True
            continue
        offset = record.stream_pos
        stream.mark(offset)
        if checked < _MEMBER_CHECKS:
            checked += 1
            if gzipped is None:
                gzipped = stream.head.startswith(_GZIP_MAGIC) or (
                    start > 0 and stream.starts_with(_GZIP_MAGIC) is True
                )
            if gzipped and stream.starts_with(_GZIP_MAGIC) is not True:
                resumable = False  # the whole file is one gzip stream: no offset to resume at
        if held is not None:
            records += 1
            if held.page is not None:
                pages.append(held.page)
            elif held.skipped:
                skipped += 1
            if len(pages) >= step_pages or records >= step_records:
                yield ScanStep(tuple(pages), records, skipped, offset if resumable else 0, offset)
                records = skipped = 0
                pages = []
        held = _hold(record, offset, wanted, max_body)
    _raise_read_error(stream)
    if held is None:
        if start == 0 and not warcinfo:
            raise ParseError("no WARC record found: is this a WARC file?")
        end = stream.tell()  # no response, or resumed after the last: nothing left to read
        yield ScanStep((), 0, 0, end, end, done=True)
        return
    cut = _cut_at(stream.tail()) if resumable else None
    if cut != 0:  # the last record read is whole
        records, skipped = records + 1, skipped + held.skipped
        if held.page is not None:
            pages.append(held.page)
    if cut is not None:
        at = held.offset + cut
        yield ScanStep(tuple(pages), records, skipped, at, at)
        raise TruncatedWarcError(f"the file is cut short inside the record at byte {at}")
    end = stream.tell()
    yield ScanStep(tuple(pages), records, skipped, end, end, done=True)


#: Records whose start is checked to tell a gzip member per record from one gzip stream.
_MEMBER_CHECKS = 3


def _records(stream: TailReader) -> Iterator[WarcRecord]:
    try:
        return iter(ArchiveIterator(stream, record_types=_READ, parse_http=False))
    except Exception as exc:
        raise ParseError(f"not a WARC file FastWARC can read: {exc}") from exc


def _next_record(iterator: Iterator[WarcRecord], stream: TailReader) -> WarcRecord | None:
    """The next record; None at the end. FastWARC's panics (BaseException) become errors."""
    try:
        return next(iterator, None)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        _raise_read_error(stream)
        raise ParseError(f"unreadable WARC data at byte {stream.tell()}: {exc}") from exc


def _raise_read_error(stream: TailReader) -> None:
    """Raise what reading the bytes raised, which the parser may have taken for the end."""
    if stream.error is not None:
        error = stream.error
        if isinstance(error, IngestError):
            raise error
        raise ParseError(f"reading the file failed: {type(error).__name__}: {error}") from error


def _hold(record: WarcRecord, offset: int, wanted: SiteFilter, max_body: int) -> _Held:
    """Read what is needed of one response record before the parser moves on."""
    url = record.headers.get("WARC-Target-URI") or ""
    site = wanted.site(url)
    if site is None:
        return _Held(offset, None, False)
    url = url.strip().strip("<>")
    try:
        page = _page(record, url, site, offset, max_body)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a payload FastWARC cannot decode is no page to keep
        return _Held(offset, None, True)
    return _Held(offset, page, page is None)


def _page(record: WarcRecord, url: str, site: str, offset: int, max_body: int) -> WarcPage | None:
    """The record's HTML page, or None when it is not one to keep."""
    record.parse_http(auto_decode="all")
    if record.http_headers.status_code != 200:
        return None
    content_type = record.http_headers.get("Content-Type")
    body = record.reader.read(max_body + 1)
    if len(body) > max_body or not _is_html(content_type, body):
        return None
    return WarcPage(url, site, _utc(record.record_date), content_type, body, offset)


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type:
        return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES
    return body.lstrip()[:1] == b"<"  # no type said: an HTML page starts with markup


def _utc(when: Any) -> datetime:
    if not isinstance(when, datetime):
        raise ValueError("the record has no WARC-Date")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _cut_at(tail: bytes | None) -> int | None:
    """Where in the file's last bytes (``tail``, from the last record read) the first record
    that is not whole starts; None when every one is whole."""
    if tail is None:
        return None  # a record too long to keep whole: not one newsflow would keep anyway
    if tail[:2] != _GZIP_MAGIC:
        return _cut_record(tail)
    position = 0
    while position < len(tail):
        inflated, used = _inflate_member(tail[position:])
        if inflated is None or _cut_record(inflated) is not None:
            return position
        position += used
    return None


def _cut_record(block: bytes) -> int | None:
    """Where the first record of ``block`` (uncompressed records) that is not whole starts."""
    position = 0
    while True:
        while block.startswith(b"\r\n", position):
            position += 2
        if position >= len(block):
            return None
        head_end = block.find(b"\r\n\r\n", position)
        found = _CONTENT_LENGTH.search(block, position, head_end + 2) if head_end >= 0 else None
        if found is None or len(block) - head_end - 4 < int(found.group(1)):
            return position
        position = head_end + 4 + int(found.group(1))


#: Bytes of one record inflated to check it (a bomb is not inflated further).
_MAX_INFLATED = 256 * 1024 * 1024


def _inflate_member(data: bytes) -> tuple[bytes | None, int]:
    """The first gzip member of ``data`` inflated, and its length; None when it is cut short."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, _MAX_INFLATED)
    except zlib.error:
        return None, len(data)
    if inflater.unconsumed_tail:
        return out + b"\r\n\r\n", len(data)  # too large to check further: take it as whole
    if not inflater.eof:
        return None, len(data)
    return out, len(data) - len(inflater.unused_data)
