"""Identity keys for exact deduplication.

The ladder (STYLE.md habit 5): an entry is identified by its canonical link; an entry without a
link by its GUID (disambiguated by position when a document repeats a GUID, as miniflux does);
an entry with neither by title and date. The article's body gets a ``content_hash`` so the same
text under two URLs is recognised.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from ingest.model import FeedEntry

_SPACE = re.compile(r"\s+")


def _sha256(parts: Iterable[str | None]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")  # unit separator: ("ab", "c") and ("a", "bc") differ
    return h.hexdigest()


def normalize_text(text: str) -> str:
    """Fold case, compatibility forms and whitespace so trivial differences vanish."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    """Hash of the normalized body text: equal for the same text under any URL."""
    return hashlib.sha256(normalize_text(text).encode("utf-8", "surrogatepass")).hexdigest()


def entry_hash(entry: FeedEntry) -> str:
    """Hash of what a feed says about an entry, to notice when the entry changes."""
    return _sha256(
        [
            entry.guid,
            entry.link,
            entry.title,
            entry.summary,
            entry.content,
            entry.updated_at.isoformat() if entry.updated_at else None,
        ]
    )


def linkless_key(feed_url: str, entry: FeedEntry, *, repeated_guid: bool) -> str:
    """Identity of an entry that has no link: GUID, else title and date.

    A GUID repeated inside one document keeps the first item's key; later ones add their
    position so no item is lost (miniflux commit 2e609232).
    """
    if entry.guid:
        parts: list[str | None] = [feed_url, entry.guid]
        if repeated_guid:
            parts.append(str(entry.position))
    else:
        parts = [feed_url, entry.title, entry.published_raw, entry.summary]
    return _sha256(parts)[:32]
