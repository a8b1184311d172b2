"""Read a response body within a cap on its *decoded* size.

httpx decodes each raw chunk with no limit (a 510 KB gzip bomb gave one 33.7 MB chunk), so the
body is read raw and undone here with ``decompress(data, max_length)``.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

from ingest.errors import PermanentFetchError, TransientFetchError


async def read_body(response: httpx.Response, max_bytes: int, *, truncate: bool = False) -> bytes:
    """Stream the raw body and decode it, stopping once it exceeds ``max_bytes``.

    Beyond ``max_bytes`` the body is refused (PermanentFetchError), or with ``truncate`` its
    first ``max_bytes`` are returned and the rest is never read.
    """
    declared = response.headers.get("content-length", "").strip()
    if not truncate and declared.isdigit() and int(declared) > max_bytes:
        raise PermanentFetchError(
            f"response larger than {human_size(max_bytes)} "
            f"(Content-Length {human_size(int(declared))})"
        )
    decoder = _BodyDecoder(response.headers.get("content-encoding"))
    body = bytearray()
    async for chunk in raw_chunks(response):
        body += decoder.decode(chunk, max_bytes - len(body) + 1)
        if len(body) > max_bytes:
            if truncate:
                return bytes(body[:max_bytes])
            raise PermanentFetchError(f"response larger than {human_size(max_bytes)}")
    decoder.finish()
    return bytes(body)


def raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """Iterate the body as it came off the wire, before any Content-Encoding is undone."""
    if response.is_stream_consumed and isinstance(response.stream, httpx.AsyncByteStream):
        # An injected transport (httpx.MockTransport) may answer with a response built from
        # bytes, which httpx marks as already read; its stream still yields the raw bytes.
        return aiter(response.stream)
    return response.aiter_raw()


class _BodyDecoder:
    """Undo one gzip/deflate Content-Encoding without ever producing more than asked.

    httpx decodes each raw chunk with no limit (``httpx/_decoders.py``: ``GZipDecoder.decode``
    calls ``decompress(data)``, so one small chunk of a gzip bomb comes out as megabytes);
    ``decompress(data, max_length)`` bounds the output instead.
    """

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._raw_deflate_fallback = codings == ["deflate"]
        self._fed = False
        self._zlib: zlib._Decompress | None = None
        if codings in (["gzip"], ["x-gzip"]):
            self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
        elif codings == ["deflate"]:
            self._zlib = zlib.decompressobj()
        elif codings:
            raise PermanentFetchError(f"unsupported Content-Encoding {content_encoding!r}")

    def decode(self, chunk: bytes, limit: int) -> bytes:
        """Decode ``chunk``, returning at most ``limit`` bytes (``limit`` >= 1)."""
        if self._zlib is None or not chunk:
            return chunk
        if self._zlib.eof:
            return b""  # bytes after the end of the stream are ignored, as browsers do
        try:
            out = self._zlib.decompress(chunk, limit)
        except zlib.error as exc:
            if not (self._raw_deflate_fallback and not self._fed):
                raise PermanentFetchError(f"could not decode the compressed body: {exc}") from exc
            # "deflate" is often sent without its zlib header (RFC 9110 §8.4.1.2 notes this).
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._fed = True
            return self.decode(chunk, limit)
        self._fed = True
        while self._zlib.unconsumed_tail and len(out) < limit:
            out += self._zlib.decompress(self._zlib.unconsumed_tail, limit - len(out))
        return out

    def finish(self) -> None:
        """Refuse a compressed stream that stopped before its end marker."""
        if self._zlib is not None and self._fed and not self._zlib.eof:
            raise TransientFetchError(
                "connection closed before the body was complete (compressed stream cut short)"
            )


def human_size(size: int) -> str:
    """Format a byte count the way people read it: ``5 MiB``, ``512 KiB``, ``800 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
