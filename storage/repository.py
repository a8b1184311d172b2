"""Reads and writes of newsflow's tables. Every write is one short transaction.

:class:`SqlStore` is the store the pipeline writes through (``ingest.pipeline.ArticleStore``);
the query functions serve the command line and the flows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Engine,
    Select,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.dedup.identity import same_outlet
from ingest.dedup.neardup import Fingerprint, fingerprint
from ingest.dedup.revisions import describe_changes
from ingest.errors import ConfigError
from ingest.model import (
    ArticleRecord,
    Cadence,
    FeedSource,
    FeedState,
    SaveCounts,
    Validators,
    unpack_page,
)
from storage.clusters import find_links, link_article, lock_clusters, record_links
from storage.db import read_only
from storage.models import ArticleRevisionRow, ArticleRow, FeedRow, RawPageRow
from storage.search import apply_search, parse_search

#: Rows per transaction when saving (RELIABILITY.md §4: at most 500).
BATCH_SIZE = 500
#: Keys of an article as the command line and exports show it, in order.
ARTICLE_KEYS = (
    "id",
    "url",
    "canonical_url",
    "feed_url",
    "guid",
    "title",
    "authors",
    "published_at",
    "updated_at",
    "language",
    "description",
    "image_url",
    "tags",
    "site_name",
    "text",
    "word_count",
    "content_hash",
    "cluster_id",
    "duplicate_of",
    "fetched_at",
    "paywalled",
)


def _now() -> datetime:
    return datetime.now(UTC)


def dialect_insert(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (
        postgresql.insert
        if session.bind and session.bind.dialect.name == "postgresql"
        else sqlite.insert
    )


# --- feeds ---------------------------------------------------------------------------------


def sync_feeds(engine: Engine, sources: Iterable[FeedSource]) -> None:
    """Make sure every configured feed has a row; refresh names and tags (one statement)."""
    now = _now()
    rows = [
        {
            "url": source.url,
            "name": source.name,
            "tags": list(source.tags),
            "consecutive_failures": 0,
            "parked": False,
            "created_at": now,
        }
        for source in sources
    ]
    if not rows:
        return
    with Session(engine) as session, session.begin():
        stmt = dialect_insert(session)(FeedRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=[FeedRow.url],
            set_={"name": stmt.excluded.name, "tags": stmt.excluded.tags},
        )
        session.execute(stmt, rows)


def feed_states(engine: Engine, urls: Sequence[str]) -> dict[str, FeedState]:
    """Validators and health of the given feeds."""
    states: dict[str, FeedState] = {}
    with Session(read_only(engine)) as session:
        for chunk in _chunks(sorted(set(urls)), 1000):
            for row in session.scalars(select(FeedRow).where(FeedRow.url.in_(chunk))):
                states[row.url] = FeedState(
                    url=row.url,
                    validators=Validators(row.etag, row.last_modified),
                    consecutive_failures=row.consecutive_failures,
                    next_fetch_at=row.next_fetch_at,
                    parked=row.parked,
                    cadence=_cadence(row),
                )
    return states


def _cadence(row: FeedRow) -> Cadence | None:
    """What adaptive polling learned of the feed, or None before its first good read."""
    if row.rate_learned_at is None:
        return None
    return Cadence(
        interval=timedelta(seconds=row.poll_interval_seconds or 0),
        entries_per_day=row.entries_per_day or 0.0,
        peak_per_day=row.peak_entries_per_day or 0.0,
        listed=row.entries_listed or 0,
        learned_at=row.rate_learned_at,
    )


def reset_feed(engine: Engine, url: str) -> bool:
    """Un-park a feed and clear its failure count; False when the feed is unknown."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(FeedRow)
            .where(FeedRow.url == url)
            .values(parked=False, consecutive_failures=0, next_fetch_at=None, last_error=None)
        )
        return bool(getattr(result, "rowcount", 0))


def list_feeds(engine: Engine) -> list[dict[str, Any]]:
    """Every feed the store knows, with its health and article count."""
    counts = (
        select(ArticleRow.feed_id, func.count().label("n")).group_by(ArticleRow.feed_id).subquery()
    )
    stmt = (
        select(FeedRow, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.feed_id == FeedRow.id)
        .order_by(FeedRow.url)
    )
    with Session(read_only(engine)) as session:
        return [
            {
                "url": feed.url,
                "name": feed.name,
                "tags": list(feed.tags or []),
                "last_fetched_at": feed.last_fetched_at,
                "last_status": "parked" if feed.parked else feed.last_status,
                "last_error": feed.last_error,
                "consecutive_failures": feed.consecutive_failures,
                "next_fetch_at": feed.next_fetch_at,
                "parked": feed.parked,
                "article_count": int(n),
                "disallowed": feed.disallowed,
                "blocked_by": feed.blocked_by,
                "poll_minutes": (
                    None
                    if feed.poll_interval_seconds is None
                    else round(feed.poll_interval_seconds / 60, 1)
                ),
                "entries_per_day": (
                    None if feed.entries_per_day is None else round(feed.entries_per_day, 1)
                ),
            }
            for feed, n in session.execute(stmt)
        ]


# --- articles ------------------------------------------------------------------------------


class SqlStore:
    """The pipeline's store (``ingest.pipeline.ArticleStore``) over one SQLAlchemy engine.

    Saves are group-committed. One writer at a time per process holds the write lock (threads
    wait there, not in SQLite's busy handler, whose timeout would otherwise fail a feed when
    many feeds save at once); the thread that gets it writes every save waiting by then, up to
    ``BATCH_SIZE`` records, in one transaction. With thousands of small feeds that is one
    commit for many feeds instead of one each. A group that fails is rolled back and its saves
    are written again one transaction each, so one feed's error is that feed's alone.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Save] = []

    def known(self, link_urls: Sequence[str]) -> dict[str, str | None]:
        """Entry hashes of already stored articles, by the link they were asked with."""
        if not link_urls:
            return {}
        wanted = set(link_urls)
        found: dict[str, str | None] = {}
        with read_only(self.engine).connect() as conn:
            for chunk in _chunks(sorted(wanted), 500):
                rows = conn.execute(_KNOWN, {"urls": chunk})
                for link, canonical, entry_hash in rows:
                    for url in (link, canonical):
                        if url in wanted:
                            found[url] = entry_hash
        return found

    def save(self, feed_url: str, records: Sequence[ArticleRecord]) -> SaveCounts:
        """Insert new articles, update changed ones, count the rest as duplicates.

        ``records`` name distinct canonical URLs (``ingest.dedup.identity.collapse_records``).
        A feed's records go in chunks of at most ``BATCH_SIZE``, each committed before the
        next is written.
        """
        if len({r.article.canonical_url for r in records}) != len(records):
            raise ValueError("records must have distinct canonical URLs: collapse them first")
        counts = SaveCounts()
        for chunk in _chunks(records, BATCH_SIZE):
            counts += self._committed(_Save(feed_url, chunk))
        return counts

    def _committed(self, save: _Save) -> SaveCounts:
        """Queue ``save``; write groups of waiting saves until it is committed or has failed."""
        with self._waiting_lock:
            self._waiting.append(save)
        with self._write_lock:
            while save.outcome is None:
                self._write_group(self._next_group())
        if isinstance(save.outcome, BaseException):
            raise save.outcome
        return save.outcome

    def _next_group(self) -> list[_Save]:
        """The oldest waiting saves, at most ``BATCH_SIZE`` records unless one is larger."""
        with self._waiting_lock:
            size, taken = 0, 0
            for save in self._waiting:
                if taken and (size + len(save.records) > BATCH_SIZE):
                    break
                size += len(save.records)
                taken += 1
            group, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return group

    def _write_group(self, group: Sequence[_Save]) -> None:
        """Commit ``group`` in one transaction; on error, each save in a transaction of its own.

        Every save of the group has its outcome when this returns or raises: the waiting
        threads never wait for a save nobody will write.
        """
        try:
            try:
                counts = self._transaction(group)
            except Exception as exc:
                if len(group) == 1:
                    group[0].outcome = exc
                    return
                for save in group:  # the group was rolled back: who failed it?
                    try:
                        save.outcome = self._transaction([save])[0]
                    except Exception as own:
                        save.outcome = own
            else:
                for save, saved in zip(group, counts, strict=True):
                    save.outcome = saved
        except BaseException as stop:  # interrupted: tell the others, then stop
            for save in group:
                if save.outcome is None:
                    save.outcome = stop
            raise

    def _transaction(self, group: Sequence[_Save]) -> list[SaveCounts]:
        with Session(self.engine) as session, session.begin():
            lock_clusters(session)
            feed_urls = sorted({save.feed_url for save in group})
            named = select(FeedRow.url, FeedRow.id).where(FeedRow.url.in_(feed_urls))
            feed_ids = {url: feed_id for url, feed_id in session.execute(named)}
            return _GroupWriter(
                session, [(feed_ids.get(save.feed_url), save.records) for save in group]
            ).write()


@dataclass(slots=True)
class _Save:
    """One feed's chunk of records waiting to be written, then what became of it."""

    feed_url: str
    records: Sequence[ArticleRecord]
    outcome: SaveCounts | BaseException | None = None


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _article_values(record: ArticleRecord) -> dict[str, Any]:
    art = record.article
    return {
        "url": art.url,
        "link_url": record.link_url,
        "canonical_url": art.canonical_url,
        "guid": record.guid,
        "entry_hash": record.entry_hash,
        "title": art.title,
        "authors": list(art.authors),
        "published_at": art.published_at,
        "published_raw": art.published_raw,
        "updated_at": art.updated_at,
        "language": art.language,
        "description": art.description,
        "image_url": art.image_url,
        "tags": list(art.tags),
        "site_name": art.site_name,
        "text": art.text,
        "word_count": art.word_count,
        "content_hash": record.content_hash,
        "sources": dict(art.sources),
        "fetched_at": record.fetched_at,
        "paywalled": art.paywalled,
    }


@dataclass(frozen=True, slots=True)
class _Twin:
    """The earliest stored article with a given text (its cluster is read when needed: a
    merge later in the chunk may move it)."""

    id: int
    url: str  # its canonical URL, which tells its outlet


def _earliest_with_text(
    session: Session, hashes: Iterable[str], exclude: int | None = None
) -> dict[str, _Twin]:
    """The earliest stored article for each content hash (other than article ``exclude``)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    stmt = select(ArticleRow.content_hash, ArticleRow.id, ArticleRow.canonical_url).where(
        ArticleRow.content_hash.in_(wanted)
    )
    if exclude is not None:
        stmt = stmt.where(ArticleRow.id != exclude)
    twins: dict[str, _Twin] = {}
    for content, article_id, url in session.execute(stmt.order_by(ArticleRow.id)):
        twins.setdefault(content, _Twin(article_id, url))
    return twins


def _cluster_of(session: Session, twin: _Twin | None) -> int | None:
    if twin is None:
        return None
    return session.scalar(select(ArticleRow.cluster_id).where(ArticleRow.id == twin.id))


def _has_text(record: ArticleRecord) -> bool:
    return bool(record.article.text.strip())  # "no text" is no story two pages can share


# The tables themselves, for SQL Core statements that bypass the ORM's per-object bookkeeping.
_ARTICLES = cast(Table, ArticleRow.__table__)
_RAW_PAGES = cast(Table, RawPageRow.__table__)
_INSERT_RAW_PAGE = insert(_RAW_PAGES)
_NEXT_ARTICLE_ID = text("SELECT nextval(pg_get_serial_sequence('articles', 'id'))")
_URLS: BindParameter[str] = bindparam("urls", expanding=True)
#: Stored articles asked for by link or canonical URL (SqlStore.known), built once.
_KNOWN = select(_ARTICLES.c.link_url, _ARTICLES.c.canonical_url, _ARTICLES.c.entry_hash).where(
    or_(_ARTICLES.c.link_url.in_(_URLS), _ARTICLES.c.canonical_url.in_(_URLS))
)


# Per-article statements built once; their values come as parameters, so no statement is
# built and keyed again for every article.
_SET_CLUSTER = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id == bindparam("row"))
    .values(cluster_id=bindparam("cluster"), duplicate_of=bindparam("of"))
)


@cache
def _article_insert(insert_of: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, once per dialect's ``insert``."""
    return (
        insert_of(_ARTICLES)
        .on_conflict_do_nothing(index_elements=[_ARTICLES.c.canonical_url])
        .returning(_ARTICLES.c.id)
    )


class _GroupWriter:
    """Saves a group of feeds' records in one transaction, with as few statements as it can.

    What the group needs to know about stored articles (which URLs and which texts are there
    already) is read in two queries up front and kept current as the group's own articles
    are inserted, so each record sees what the records before it stored, as if they had been
    saved one by one. SQL Core statements on the session's connection skip the ORM's unit of
    work, and the raw pages go in one multi-row insert at the end. Each new article still
    costs a handful of statements: its insert, its near-duplicate lookup and index, its
    cluster.
    """

    def __init__(
        self, session: Session, saves: Sequence[tuple[int | None, Sequence[ArticleRecord]]]
    ) -> None:
        self.session = session
        self.conn = session.connection()
        self.saves = saves
        records = [record for _, chunk in saves for record in chunk]
        self.by_url = self._stored_urls(records)
        self.twins = self._stored_texts(records)
        self.raw_rows: list[dict[str, Any]] = []
        self.insert = _article_insert(dialect_insert(session))
        self.reserve_ids = self.conn.dialect.name == "postgresql"

    def _stored_urls(self, records: Sequence[ArticleRecord]) -> dict[str, int]:
        """Article ids by canonical and link URL, for the URLs these records name."""
        urls = sorted({r.article.canonical_url for r in records} | {r.link_url for r in records})
        found: dict[str, int] = {}
        for chunk in _chunks(urls, 500):  # bound parameters per statement stay few
            rows = self.conn.execute(
                select(_ARTICLES.c.id, _ARTICLES.c.canonical_url, _ARTICLES.c.link_url).where(
                    or_(_ARTICLES.c.canonical_url.in_(chunk), _ARTICLES.c.link_url.in_(chunk))
                )
            )
            for article_id, canonical, link in rows:  # the earliest wins, as a scan by id would
                if canonical not in found or article_id < found[canonical]:
                    found[canonical] = article_id
                if link not in found or article_id < found[link]:
                    found[link] = article_id
        return found

    def _stored_texts(self, records: Sequence[ArticleRecord]) -> dict[str, _Twin]:
        """The earliest stored article for each content hash of the records' non-empty texts."""
        return _earliest_with_text(self.session, (r.content_hash for r in records if _has_text(r)))

    def _insert_in_its_cluster(
        self, record: ArticleRecord, values: dict[str, Any], same_text_cluster: int | None
    ) -> int | None:
        """Insert a new article and give it its story's cluster; its id, or None when the
        URL was stored meanwhile.

        On Postgres the article's id is taken from its sequence first, so that the insert
        carries the cluster: an UPDATE after it would compute the row's generated search
        vector (``to_tsvector`` of its text) and index it a second time, about 1 ms each.
        On SQLite the cluster is set after the insert, which costs a few microseconds.
        """
        fp = _fingerprint(record)
        language = record.article.language
        if not self.reserve_ids:
            new_id: int | None = self.conn.execute(self.insert, values).scalar()
            if new_id is None:
                return None
            cluster = link_article(
                self.session, new_id, fp, language, same_text_cluster=same_text_cluster
            )
            self.conn.execute(
                _SET_CLUSTER,
                {"row": new_id, "cluster": cluster, "of": None if cluster == new_id else cluster},
            )
            return new_id
        reserved = int(self.conn.execute(_NEXT_ARTICLE_ID).scalar_one())
        links = find_links(
            self.session, reserved, fp, language, same_text_cluster=same_text_cluster
        )
        cluster = links.cluster
        values.update(
            id=reserved, cluster_id=cluster, duplicate_of=None if cluster == reserved else cluster
        )
        if self.conn.execute(self.insert, values).scalar() is None:
            return None
        record_links(self.session, reserved, fp, links)
        return reserved

    def write(self) -> list[SaveCounts]:
        """Save every record in order, then the raw pages deferred to the end; the counts of
        each save."""
        counts = []
        for feed_id, chunk in self.saves:
            saved = SaveCounts()
            for record in chunk:
                saved += self.save(feed_id, record)
            counts.append(saved)
        if self.raw_rows:
            self.conn.execute(_INSERT_RAW_PAGE, self.raw_rows)
        return counts

    def save(self, feed_id: int | None, record: ArticleRecord) -> SaveCounts:
        existing = self.by_url.get(record.article.canonical_url) or self.by_url.get(record.link_url)
        if existing is not None:
            row = self.session.get(ArticleRow, existing)
            if row is not None:
                return _update_existing(self.session, row, record)
        has_text = _has_text(record)
        twin = self.twins.get(record.content_hash) if has_text else None
        if twin is not None and same_outlet(twin.url, record.article.canonical_url):
            return SaveCounts(duplicates=1)  # the same text again under another URL of one outlet
        values = _article_values(record)
        values.update(feed_id=feed_id, created_at=record.fetched_at)
        inserted = self._insert_in_its_cluster(record, values, _cluster_of(self.session, twin))
        if inserted is None:  # another run stored it between our check and our insert
            return SaveCounts(duplicates=1)
        new_id = inserted
        self.by_url[record.article.canonical_url] = new_id
        self.by_url.setdefault(record.link_url, new_id)
        if has_text:
            self.twins.setdefault(record.content_hash, _Twin(new_id, record.article.canonical_url))
        if record.raw is not None:
            self.raw_rows.append(
                {
                    "article_id": new_id,
                    "url": record.raw.url,
                    "content_type": record.raw.content_type,
                    "fetched_at": record.fetched_at,
                    "body": record.raw.compressed,
                }
            )
        return SaveCounts(new=1)


def _fingerprint(record: ArticleRecord) -> Fingerprint | None:
    """The record's fingerprint, computed now if the page was not prepared with one."""
    return record.fingerprint or fingerprint(record.article.text)


def _update_existing(session: Session, row: ArticleRow, record: ArticleRecord) -> SaveCounts:
    if row.content_hash == record.content_hash:
        if row.entry_hash != record.entry_hash:
            row.entry_hash = record.entry_hash  # remember the entry so we stop refetching
        return SaveCounts(duplicates=1)
    session.add(
        ArticleRevisionRow(
            article_id=row.id,
            revised_at=record.fetched_at,
            fetched_at=row.fetched_at,
            updated_at=row.updated_at,
            title=row.title,
            text=row.text,
            content_hash=row.content_hash,
            diff_summary=describe_changes(
                row.title, row.text, record.article.title, record.article.text
            ),
        )
    )
    values = _article_values(record)
    values.pop("canonical_url")
    page_updated = record.article.updated_at
    values["updated_at"] = (
        page_updated
        if page_updated and (row.updated_at is None or page_updated > row.updated_at)
        else record.fetched_at
    )
    for key, value in values.items():
        setattr(row, key, value)
    twins = _earliest_with_text(session, [record.content_hash] if _has_text(record) else [], row.id)
    link_article(
        session,
        row.id,
        _fingerprint(record),
        record.article.language,
        cluster_id=row.cluster_id if row.cluster_id is not None else row.id,
        same_text_cluster=_cluster_of(session, twins.get(record.content_hash)),
    )
    if record.raw is not None:
        raw = session.get(RawPageRow, row.id)
        body = record.raw.compressed
        if raw is None:
            session.add(
                RawPageRow(
                    article_id=row.id,
                    url=record.raw.url,
                    content_type=record.raw.content_type,
                    fetched_at=record.fetched_at,
                    body=body,
                )
            )
        else:
            raw.url, raw.content_type = record.raw.url, record.raw.content_type
            raw.fetched_at, raw.body = record.fetched_at, body
    # The group's later records are written with Core statements, which do not flush the
    # ORM's pending changes first: write this article's now.
    session.flush()
    return SaveCounts(updated=1)


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticleQuery:
    since: datetime | None = None
    until: datetime | None = None
    feed_url: str | None = None
    unique: bool = False
    cluster_id: int | None = None
    limit: int | None = None
    #: Full-text search (storage.search syntax); results come best match first.
    search: str | None = None


def _article_select(session: Session, query: ArticleQuery) -> Select[ArticleRow, str] | None:
    """The query's SELECT; None when its search has no word to look for (nothing matches)."""
    stmt = select(ArticleRow, FeedRow.url).outerjoin(FeedRow, FeedRow.id == ArticleRow.feed_id)
    when = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    if query.since is not None:
        stmt = stmt.where(when >= query.since)
    if query.until is not None:
        stmt = stmt.where(when <= query.until)
    if query.feed_url is not None:
        stmt = stmt.where(FeedRow.url == query.feed_url)
    if query.unique:
        stmt = stmt.where(ArticleRow.duplicate_of.is_(None))
    if query.cluster_id is not None:
        stmt = stmt.where(ArticleRow.cluster_id == query.cluster_id)
    if query.search is not None:
        terms = parse_search(query.search)
        if terms is None:
            return None
        stmt = apply_search(session, stmt, terms)
    stmt = stmt.order_by(when.desc(), ArticleRow.id.desc())
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    return stmt


def query_articles(engine: Engine, query: ArticleQuery) -> list[dict[str, Any]]:
    """Articles as dicts with exactly :data:`ARTICLE_KEYS`; best match first, else newest first."""
    with Session(read_only(engine)) as session:
        stmt = _article_select(session, query)
        if stmt is None:
            return []
        return [article_dict(row, feed_url) for row, feed_url in session.execute(stmt)]


def article_dict(row: ArticleRow, feed_url: str | None) -> dict[str, Any]:
    """An article row as the dict :func:`query_articles` returns."""
    values = {key: getattr(row, key, None) for key in ARTICLE_KEYS}
    values["feed_url"] = feed_url
    values["authors"] = list(row.authors or [])
    values["tags"] = list(row.tags or [])
    return values


def raw_page(engine: Engine, article_id: int) -> bytes | None:
    """The stored page bytes of an article, decompressed."""
    with Session(read_only(engine)) as session:
        row = session.get(RawPageRow, article_id)
        return unpack_page(row.body) if row is not None else None


#: Keys of an earlier version of an article, as ``newsflow articles --revisions`` shows it.
REVISION_KEYS = (
    "id",
    "article_id",
    "revised_at",
    "fetched_at",
    "updated_at",
    "title",
    "diff_summary",
    "content_hash",
    "text",
)


def list_revisions(engine: Engine, article_id: int) -> list[dict[str, Any]]:
    """Earlier versions of an article, newest first, each with how the next one differs."""
    with Session(read_only(engine)) as session:
        if session.get(ArticleRow, article_id) is None:
            raise ConfigError(f"no article with id {article_id} in the store")
        rows = session.scalars(
            select(ArticleRevisionRow)
            .where(ArticleRevisionRow.article_id == article_id)
            .order_by(ArticleRevisionRow.revised_at.desc(), ArticleRevisionRow.id.desc())
        )
        return [{key: getattr(row, key) for key in REVISION_KEYS} for row in rows]
