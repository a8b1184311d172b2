"""Which entries and records of one batch are the same article, before anything is stored.

Two collapses, one home: :func:`plan_entries` gives each feed entry its identity key (the ladder
of ``ingest.dedup.keys``) and keeps one entry per key, so a page reached through two tracking
variants of its link is downloaded once; :func:`collapse_records` keeps one extracted record
per canonical URL, because two links may lead to one page (and Postgres refuses one key twice
in a statement). The store then only applies these decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingest.dedup.keys import entry_hash, linkless_key
from ingest.model import ArticleRecord, FeedEntry
from ingest.urls import canonicalize_url, same_site


@dataclass(frozen=True, slots=True)
class EntryWork:
    """An entry worth turning into an article, with its identity keys."""

    entry: FeedEntry
    link_url: str | None  # None: the entry has no usable link, the feed carries the article
    key_url: str  # the URL the store knows the article by
    entry_hash: str


@dataclass(frozen=True, slots=True)
class PlannedEntries:
    work: tuple[EntryWork, ...]
    collapsed: int  # entries that were another entry's article again


def plan_entries(feed_url: str, entries: Sequence[FeedEntry]) -> PlannedEntries:
    """Give every entry its identity; keep one entry per article (tracking variants...)."""
    seen_guids: set[str] = set()
    planned: dict[str, EntryWork] = {}
    for entry in entries:
        link_url = _canonical_or_none(entry.link, feed_url)
        if link_url is not None:
            key = link_url
        else:
            repeated = bool(entry.guid) and entry.guid in seen_guids
            key = f"{feed_url}#entry-{linkless_key(feed_url, entry, repeated_guid=repeated)}"
        if entry.guid:
            seen_guids.add(entry.guid)
        planned.setdefault(key, EntryWork(entry, link_url, key, entry_hash(entry)))
    return PlannedEntries(tuple(planned.values()), len(entries) - len(planned))


def is_unchanged(work: EntryWork, known: Mapping[str, str | None]) -> bool:
    """Whether the entry's article is stored and the feed says nothing new about it."""
    return work.key_url in known and known[work.key_url] == work.entry_hash


@dataclass(frozen=True, slots=True)
class CollapsedRecords:
    unique: tuple[ArticleRecord, ...]
    collapsed: int  # records whose canonical URL another record of the batch has


def collapse_records(records: Sequence[ArticleRecord]) -> CollapsedRecords:
    """One record per canonical URL, the last one seen (the freshest extraction) winning."""
    unique: dict[str, ArticleRecord] = {}
    for record in records:
        unique[record.article.canonical_url] = record
    return CollapsedRecords(tuple(unique.values()), len(records) - len(unique))


def same_outlet(stored_url: str, new_url: str) -> bool:
    """Whether two articles with one text come from one outlet, so the later is a duplicate.

    One outlet is one site under the Public Suffix List (``bbc.co.uk`` and ``news.bbc.co.uk``,
    never two tenants of ``github.io``). Another outlet's copy is stored, and linked as the
    same story.
    """
    try:
        return same_site(stored_url, new_url)
    except ValueError:  # a feed-carried article keyed by something that is not a URL
        return stored_url == new_url


def _canonical_or_none(link: str | None, base: str) -> str | None:
    if not link:
        return None
    try:
        return canonicalize_url(link, base)
    except ValueError:
        return None
