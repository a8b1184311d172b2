"""Which WARC files a ``--source warc`` backfill reads: paths, URLs and ``*.paths`` listings.

``--warc`` takes, any number of times:

- a local WARC file (``.warc`` or ``.warc.gz``), or a directory (its ``*.warc``/``*.warc.gz``
  files, by name);
- an ``http(s)`` URL of a WARC file;
- a listing, ``*.paths`` or ``*.paths.gz`` (local or remote), one file a line, as Common Crawl
  publishes them. A line that is an absolute URL or path is taken as it is; a line starting
  ``crawl-data/`` is a Common Crawl path, under ``NEWSFLOW_CCNEWS_URL``; any other line is
  relative to the listing's own location.

Files are returned in the order given, each once.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ingest.errors import ConfigError, ParseError
from ingest.fetch.client import Fetcher

__all__ = ["WarcFile", "parse_listing", "resolve_warc_inputs", "shard_files"]

_LISTING_SUFFIXES = (".paths", ".paths.gz")
_WARC_SUFFIXES = (".warc", ".warc.gz")
#: A listing is read whole; refuse one larger than this (packed or unpacked).
MAX_LOCAL_LISTING_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WarcFile:
    """One WARC file to read: where it is, and the name shards and the store know it by."""

    url: str  # an absolute http(s) URL, or an absolute local path
    key: str  # CC-NEWS path (crawl-data/...), else ``url``: stable across mirrors
    captured_at: datetime | None = None  # CC-NEWS: the capture start its name gives

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def shard_files(files: Sequence[WarcFile], shard: int, shards: int) -> list[WarcFile]:
    """The files of shard ``shard`` of ``shards``, split by a stable hash of their key."""
    from ingest.feeds.shards import check_shard, stable_hash

    check_shard(shard, shards)
    return [f for f in files if stable_hash(f.key) % shards == shard]


def _is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")


def _is_listing(name: str) -> bool:
    return name.endswith(_LISTING_SUFFIXES)


async def resolve_warc_inputs(
    inputs: Iterable[str],
    *,
    fetcher: Fetcher,
    ccnews_base: str,
    max_listing_bytes: int = MAX_LOCAL_LISTING_BYTES,
) -> list[WarcFile]:
    """The WARC files ``inputs`` name (see the module's docstring); bad input is a ConfigError.

    A remote listing that cannot be fetched raises the fetch error.
    """
    files: dict[str, WarcFile] = {}
    for given in inputs:
        text = given.strip()
        if not text:
            raise ConfigError("--warc needs a path or URL, not an empty string")
        if _is_url(text):
            if _is_listing(urlsplit(text).path):
                listing = await fetcher.fetch(text, max_bytes=max_listing_bytes)
                lines = parse_listing(listing.body, url=text)
                found = [_listed(line, text, ccnews_base) for line in lines]
            else:
                found = [WarcFile(url=text, key=text)]
        else:
            found = _local(Path(text).expanduser(), ccnews_base)
        for file in found:
            files.setdefault(file.key, file)
    return list(files.values())


def _local(path: Path, ccnews_base: str) -> list[WarcFile]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_WARC_SUFFIXES))
        if not found:
            raise ConfigError(f"--warc {path}: the directory holds no .warc or .warc.gz file")
        return [_local_file(p) for p in found]
    if not path.is_file():
        raise ConfigError(f"--warc {path}: no such file")
    if _is_listing(path.name):
        if path.stat().st_size > MAX_LOCAL_LISTING_BYTES:
            raise ConfigError(f"--warc {path}: a listing larger than 64 MiB is not a listing")
        try:
            lines = parse_listing(path.read_bytes(), url=str(path))
        except ParseError as exc:
            raise ConfigError(f"--warc {path}: {exc}") from exc
        base = path.resolve().parent.as_uri() + "/"
        return [_listed(line, base, ccnews_base) for line in lines]
    return [_local_file(path)]


def _local_file(path: Path) -> WarcFile:
    resolved = str(path.resolve())
    return WarcFile(url=resolved, key=resolved)


def _listed(line: str, listing: str, ccnews_base: str) -> WarcFile:
    """A listing's line as a file: absolute, a Common Crawl path, or relative to the listing."""
    if _is_url(line):
        return WarcFile(url=line, key=line)
    if line.startswith("crawl-data/"):
        root = ccnews_base if ccnews_base.endswith("/") else ccnews_base + "/"
        return WarcFile(url=urljoin(root, line), key=line)
    if line.startswith("/") or listing.startswith("file:"):
        local = Path(line) if line.startswith("/") else Path(urlsplit(listing).path) / line
        return _local_file(local)
    url = urljoin(listing, line)
    return WarcFile(url=url, key=url)


def parse_listing(body: bytes, *, url: str) -> list[str]:
    """The paths of a ``warc.paths`` listing (gzipped or not), blank lines dropped."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = _gunzip(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"{url}: not a readable gzip file: {exc}") from exc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{url}: a WARC listing must be UTF-8 text: {exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def _gunzip(body: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
        data = unzipped.read(MAX_LOCAL_LISTING_BYTES + 1)
    if len(data) > MAX_LOCAL_LISTING_BYTES:
        raise OSError(f"it unpacks to more than {MAX_LOCAL_LISTING_BYTES} bytes")
    return data
