"""A WARC file as a byte stream the parser reads in a worker thread, from any offset.

A local file is opened and read directly; a remote one is streamed through the fetch layer
(:meth:`ingest.fetch.client.Fetcher.stream`, which vets every hop) on the event loop, and the
parser's thread pulls its chunks one at a time, so no more than a chunk is in flight and the
file is never held whole, in memory or on disk. Resuming at ``offset`` seeks a local file and
asks a server for a byte range (a server that ignores ranges is read from the start and the
bytes before ``offset`` are dropped as they come).

:class:`TailReader` is what the parser gets: it counts the bytes read and keeps those after a
*mark* (the start of the record being read), so the end of the file can be checked once the
parser stops: the parser stops quietly at a cut gzip member, and only the kept tail shows it.
"""

from __future__ import annotations

import asyncio
import io
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from ingest.backfill.warc_sources import WarcFile
from ingest.errors import ConfigError
from ingest.fetch.client import Fetcher

__all__ = ["MAX_TAIL_BYTES", "TailReader", "open_warc"]

#: Bytes kept after the mark; a longer record is not checked at the end of the file (it is
#: far larger than any page newsflow keeps).
MAX_TAIL_BYTES = 64 * 1024 * 1024
#: Bytes read from a local file at a time.
LOCAL_CHUNK = 256 * 1024

_HEAD_BYTES = 4
Pull = Callable[[], bytes]  # the next chunk, b"" at the end


class TailReader(io.RawIOBase):
    """A forward-only binary stream over ``pull`` that keeps the bytes after :meth:`mark`.

    ``start`` is the file offset of the first byte ``pull`` gives, so :meth:`tell` and the
    parser's record offsets are offsets in the file. An error raised by ``pull`` is kept in
    :attr:`error` (the parser may swallow it) and raised again by the caller.
    """

    def __init__(self, pull: Pull, *, start: int = 0) -> None:
        super().__init__()
        self._pull = pull
        self._position = start  # file offset of the next byte handed out
        self._pending = b""  # pulled but not handed out yet
        self._kept: deque[tuple[int, bytes]] = deque()  # (file offset, bytes) after the mark
        self._kept_bytes = 0
        self._mark = start
        self._overflow = False  # the marked record is longer than MAX_TAIL_BYTES
        self._eof = False
        self.error: BaseException | None = None
        self.head = b""  # the first bytes read (a gzip file's magic number)

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only "where am I" is answered; the stream goes forward only."""
        if (whence == io.SEEK_CUR and offset == 0) or (
            whence == io.SEEK_SET and offset == self._position
        ):
            return self._position
        raise io.UnsupportedOperation("a WARC stream is read forward only")

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self.read(LOCAL_CHUNK)]
            while parts[-1]:
                parts.append(self.read(LOCAL_CHUNK))
            return b"".join(parts)
        if not self._pending and not self._eof:
            self._pending = self._next_chunk()
        data, self._pending = self._pending[:size], self._pending[size:]
        if data:
            if len(self.head) < _HEAD_BYTES:
                self.head += data[: _HEAD_BYTES - len(self.head)]
            self._keep(self._position, data)
            self._position += len(data)
        return data

    def _next_chunk(self) -> bytes:
        try:
            chunk = self._pull()
        except BaseException as exc:  # the parser would hide it: keep it for the caller
            self.error = exc
            self._eof = True
            raise
        if not chunk:
            self._eof = True
        return chunk

    def _keep(self, offset: int, data: bytes) -> None:
        if self._overflow:
            return
        self._kept.append((offset, data))
        self._kept_bytes += len(data)
        if self._kept_bytes > MAX_TAIL_BYTES:
            self._kept.clear()
            self._kept_bytes = 0
            self._overflow = True

    def mark(self, offset: int) -> None:
        """Forget the bytes before ``offset`` (a record starts there)."""
        if offset < self._mark:
            return
        if self._overflow and offset > self._mark:
            self._overflow = False  # the long record is behind us; keep from the next read
        self._mark = offset
        while self._kept and self._kept[0][0] + len(self._kept[0][1]) <= offset:
            _, data = self._kept.popleft()
            self._kept_bytes -= len(data)

    def _complete(self) -> bool:
        """Whether every byte from the mark on is kept."""
        return not self._overflow and (not self._kept or self._kept[0][0] <= self._mark)

    def starts_with(self, prefix: bytes) -> bool | None:
        """Whether the kept bytes at the mark begin with ``prefix``; None if not kept."""
        if not self._kept or not self._complete():
            return None
        start, data = self._kept[0]
        head = data[self._mark - start : self._mark - start + len(prefix)]
        return head == prefix if len(head) == len(prefix) else None

    def tail(self) -> bytes | None:
        """Every byte from the mark to the end of the file; None when it was too long to keep."""
        self.read()  # what the parser left unread
        if not self._complete():
            return None
        data = b"".join(chunk for _, chunk in self._kept)
        first = self._kept[0][0] if self._kept else self._mark
        return data[self._mark - first :]


@asynccontextmanager
async def open_warc(
    file: WarcFile, *, offset: int, fetcher: Fetcher, chunk_timeout: float
) -> AsyncIterator[TailReader]:
    """``file`` as a :class:`TailReader` from ``offset``, to read in another thread.

    ``chunk_timeout`` bounds how long the reading thread waits for one chunk of a remote file
    (the fetch layer's own read timeout is shorter; this only guards a stalled event loop).
    """
    if not file.is_remote:
        try:
            handle = Path(file.url).open("rb")  # noqa: SIM115 - closed below, after the yield
        except OSError as exc:
            raise ConfigError(f"cannot open {file.url}: {exc.strerror or exc}") from exc
        try:
            handle.seek(offset)
            yield TailReader(lambda: handle.read(LOCAL_CHUNK), start=offset)
        finally:
            handle.close()
        return
    loop = asyncio.get_running_loop()
    async with fetcher.stream(file.url, offset=offset) as body:
        chunks = _from(body.chunks, skip=offset - body.start)

        def pull() -> bytes:
            future = asyncio.run_coroutine_threadsafe(_next(chunks), loop)
            return future.result(timeout=chunk_timeout)

        yield TailReader(pull, start=offset)


async def _next(chunks: AsyncIterator[bytes]) -> bytes:
    return await anext(chunks, b"")


async def _from(chunks: AsyncIterator[bytes], *, skip: int) -> AsyncIterator[bytes]:
    """``chunks`` without their first ``skip`` bytes (a server that ignored the range)."""
    async for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        yield chunk[skip:] if skip else chunk
        skip = 0
