"""Story clusters: the persistent near-duplicate index and cluster assignment.

Every article has a ``cluster_id``: the id of its cluster's representative, the earliest stored
article of the story (``duplicate_of`` is NULL on the representative and the representative's id
on every other member). Two articles are linked when they have the same content hash, or when
:func:`ingest.dedup.neardup.same_story` says so and their languages do not differ. A cluster is a
connected component of those links: when a new text matches articles of two clusters, the two
merge into the one with the smaller id. Links are symmetric and never removed, so the grouping
does not depend on the order in which articles arrive; only which copy represents it does.

Finding the candidates costs one indexed query per article, whatever the store holds: only
articles sharing an LSH band key (``article_bands``) are read, and each is verified from its
stored signature (``article_signatures``, read by primary key), never from its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, select, text, update
from sqlalchemy.orm import Session

from ingest.dedup.neardup import BANDS, Fingerprint, band_keys, same_language, same_story
from storage.models import ArticleBandRow, ArticleRow, ArticleSignatureRow

# Any constant works; it only has to be the same in every newsflow process.
_PG_CLUSTER_LOCK = 0x636C7573


def lock_clusters(session: Session) -> None:
    """Serialize cluster assignment across processes until the transaction ends.

    Two Postgres transactions storing copies of one story at the same time would not see each
    other's rows and would start two clusters. SQLite needs nothing: ``BEGIN IMMEDIATE``
    already lets one writer in at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CLUSTER_LOCK})


@dataclass(frozen=True, slots=True)
class Links:
    """What an article's text joins it to: every cluster it links, and its LSH band keys."""

    clusters: frozenset[int]  # its own (or its current) cluster among them
    keys: list[int] | None  # None: no fingerprint, nothing to index

    @property
    def cluster(self) -> int:
        """The cluster the article ends in: the earliest of those it links."""
        return min(self.clusters)


def find_links(
    session: Session,
    article_id: int,
    fp: Fingerprint | None,
    language: str | None,
    *,
    cluster_id: int | None = None,
    same_text_cluster: int | None = None,
) -> Links:
    """The clusters an article joins, read but not written: :func:`record_links` does that.

    ``fp`` is the fingerprint of its text (None: too short to match on text alone).
    ``cluster_id`` is the article's current cluster (None for a new article, which starts as
    its own); ``same_text_cluster`` the cluster of another article with the same content hash.
    """
    clusters = {cluster_id if cluster_id is not None else article_id}
    if same_text_cluster is not None:
        clusters.add(same_text_cluster)
    keys = None
    if fp is not None:
        keys = band_keys(fp)
        clusters |= _matching_clusters(session, article_id, fp, keys, language)
    return Links(frozenset(clusters), keys)


def record_links(session: Session, article_id: int, fp: Fingerprint | None, links: Links) -> int:
    """Index the article's text and merge every other cluster it links into the earliest.

    Return that cluster. The article's own row is not written: the caller gives it the cluster
    (``link_article`` writes nothing to it either).
    """
    if fp is not None and links.keys is not None:
        _index(session, article_id, fp, links.keys)
    winner = links.cluster
    losers = links.clusters - {winner}
    if losers:
        session.execute(
            update(ArticleRow)
            .where(ArticleRow.cluster_id.in_(sorted(losers)))
            .values(cluster_id=winner, duplicate_of=winner)
            # keep rows already loaded in this session (a batch's earlier articles) current
            .execution_options(synchronize_session="evaluate")
        )
    return winner


def link_article(
    session: Session,
    article_id: int,
    fp: Fingerprint | None,
    language: str | None,
    *,
    cluster_id: int | None = None,
    same_text_cluster: int | None = None,
) -> int:
    """Index an article's text and join it to every cluster it matches; return its cluster.

    Arguments as :func:`find_links`. A text already indexed (an article whose content
    changed) is re-indexed; the article keeps its cluster and may only gain links, so a
    revision never splits a story.
    """
    if cluster_id is not None:
        _unindex(session, article_id)
    links = find_links(
        session,
        article_id,
        fp,
        language,
        cluster_id=cluster_id,
        same_text_cluster=same_text_cluster,
    )
    return record_links(session, article_id, fp, links)


def _matching_clusters(
    session: Session, article_id: int, fp: Fingerprint, keys: list[int], language: str | None
) -> set[int]:
    """Clusters of the stored articles that share a band key with ``fp`` and pass verification.

    Two primary-key lookups rather than one join: their plans stay index scans even on a
    Postgres that has no statistics yet, and most articles stop after the first.
    """
    candidates = _band_mates(session.connection(), keys, article_id)
    if not candidates:
        return set()
    rows = session.execute(
        select(
            ArticleRow.id,
            ArticleRow.cluster_id,
            ArticleRow.language,
            ArticleSignatureRow.shingle_count,
            ArticleSignatureRow.signature,
        )
        .join(ArticleSignatureRow, ArticleSignatureRow.article_id == ArticleRow.id)
        .where(ArticleRow.id.in_(sorted(candidates)))
        .order_by(ArticleRow.id)
    )
    found: set[int] = set()
    for other_id, other_cluster, other_language, count, signature in rows:
        cluster = other_cluster if other_cluster is not None else other_id
        if cluster in found or not same_language(language, other_language):
            continue
        if same_story(fp, Fingerprint(signature, count)):
            found.add(cluster)
    return found


# The two statements every stored article runs, in the driver's own SQL: each costs about a
# fifth of what a SQLAlchemy execute of the same statement does (26 against 124 us for the
# lookup on SQLite), and one article's other statements cost no more than these two.
# SQLite gets the keys as BANDS placeholders (fewer unique keys are padded with a repeat,
# which changes nothing in an IN list); Postgres gets them as one array.
_SQLITE_BAND_MATES = (
    "SELECT DISTINCT article_id FROM article_bands WHERE key IN ("
    + ", ".join("?" * BANDS)
    + ") AND article_id != ?"
)
_PG_BAND_MATES = (
    "SELECT DISTINCT article_id FROM article_bands "
    "WHERE key = ANY(%(keys)s::bigint[]) AND article_id != %(article_id)s"
)
_SQLITE_INSERT_BAND = "INSERT INTO article_bands (key, article_id) VALUES (?, ?)"
_PG_INSERT_BANDS = (
    "INSERT INTO article_bands (key, article_id) SELECT unnest(%(keys)s::bigint[]), %(article_id)s"
)


def _band_mates(conn: Connection, keys: list[int], article_id: int) -> list[int]:
    """Other articles with at least one of ``keys`` (an article's band keys)."""
    unique = sorted(set(keys))
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(_PG_BAND_MATES, {"keys": unique, "article_id": article_id})
    else:
        padded = unique + unique[:1] * (BANDS - len(unique))
        rows = conn.exec_driver_sql(_SQLITE_BAND_MATES, (*padded, article_id))
    return [article for (article,) in rows]


# The tables, for SQL Core inserts: the ORM's bulk path costs more than the 49 rows it writes.
_SIGNATURES = cast(Table, ArticleSignatureRow.__table__)
_INSERT_SIGNATURE = insert(_SIGNATURES)


def _index(session: Session, article_id: int, fp: Fingerprint, keys: list[int]) -> None:
    """Store an article's signature and its band keys (``band_keys(fp)``)."""
    conn = session.connection()
    conn.execute(
        _INSERT_SIGNATURE,
        {"article_id": article_id, "shingle_count": fp.shingle_count, "signature": fp.signature},
    )
    unique = sorted(set(keys))
    if conn.dialect.name == "postgresql":
        # One statement for all the keys: psycopg sends an executemany row by row.
        conn.exec_driver_sql(_PG_INSERT_BANDS, {"keys": unique, "article_id": article_id})
    else:
        conn.exec_driver_sql(_SQLITE_INSERT_BAND, [(key, article_id) for key in unique])


def _unindex(session: Session, article_id: int) -> None:
    session.execute(delete(ArticleBandRow).where(ArticleBandRow.article_id == article_id))
    session.execute(delete(ArticleSignatureRow).where(ArticleSignatureRow.article_id == article_id))
