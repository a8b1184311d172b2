"""Write stored pages as a WARC file (``newsflow export --format warc``).

WARC 1.1 (ISO 28500:2017): a ``warcinfo`` record saying who wrote the file, then one
``response`` record per page, each record its own gzip member, as Common Crawl writes them, so
the file can be cut, indexed and re-read record by record (``newsflow backfill --source
warc``). newsflow keeps a page's bytes, type and fetch time but not the HTTP exchange, so the
HTTP header of each response is rebuilt: ``200 OK`` with the stored Content-Type and the
body's length. Payload and block digests are SHA-1 in base 32, as the standard's examples and
Common Crawl give them.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

__all__ = ["ArchivedPage", "write_warc"]

#: Compression level of each record's gzip member (zlib's default: smaller, still fast).
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """A stored page to archive: where it was fetched, when, and its bytes."""

    url: str
    fetched_at: datetime
    content_type: str | None
    body: bytes


def write_warc(
    pages: Iterable[ArchivedPage], out: BinaryIO, *, filename: str, software: str
) -> int:
    """Write a warcinfo record and one response record per page to ``out``; the pages written."""
    info = (f"software: {software}\r\nformat: WARC File Format 1.1\r\n").encode()
    out.write(
        _member(
            _record(
                "warcinfo",
                datetime.now(UTC),
                info,
                "application/warc-fields",
                [("WARC-Filename", filename)],
            )
        )
    )
    count = 0
    for page in pages:
        out.write(_member(_response(page)))
        count += 1
    return count


def _response(page: ArchivedPage) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(page.body)}\r\n"
    if page.content_type:
        head += f"Content-Type: {_one_line(page.content_type)}\r\n"
    block = head.encode("latin-1", "replace") + b"\r\n" + page.body
    return _record(
        "response",
        page.fetched_at,
        block,
        "application/http; msgtype=response",
        [
            ("WARC-Target-URI", _one_line(page.url)),
            ("WARC-Payload-Digest", _digest(page.body)),
        ],
    )


def _record(
    kind: str, when: datetime, block: bytes, content_type: str, extra: list[tuple[str, str]]
) -> bytes:
    fields = [
        ("WARC-Type", kind),
        ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
        ("WARC-Date", when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        *extra,
        ("WARC-Block-Digest", _digest(block)),
        ("Content-Type", content_type),
        ("Content-Length", str(len(block))),
    ]
    head = "WARC/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _one_line(value: str) -> str:
    """A header value cannot hold a line break (it would start a forged header)."""
    return " ".join(value.split())


def _member(data: bytes) -> bytes:
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()
