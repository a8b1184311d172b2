"""Split feeds into shards so several workers can share one schedule.

A feed belongs to shard ``stable_hash(url) % shards``. The hash is the first 8 bytes of the
URL's SHA-256 read as a big-endian integer: the same in every process, on every machine and in
every Python version (the built-in ``hash()`` is salted per process), so each worker of a
sharded deployment computes the same partition without talking to the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ingest.errors import ConfigError
from ingest.model import FeedSource


def stable_hash(text: str) -> int:
    """The first 8 bytes of ``sha256(text)`` (UTF-8) as an unsigned big-endian integer."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def check_shard(shard: int, shards: int) -> None:
    """Refuse a shard number outside ``0 <= shard < shards``."""
    if shards < 1:
        raise ConfigError(f"the number of shards must be at least 1, not {shards}")
    if not 0 <= shard < shards:
        raise ConfigError(
            f"shard {shard} does not exist: with {shards} shards use 0 to {shards - 1}"
        )


def select_shard(sources: Sequence[FeedSource], shard: int, shards: int) -> list[FeedSource]:
    """The feeds of shard ``shard`` of ``shards``, in their configured order."""
    check_shard(shard, shards)
    return [s for s in sources if stable_hash(s.url) % shards == shard]
