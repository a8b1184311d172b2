"""Housekeeping: prune old raw pages, let the engine tidy up and refresh its statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from storage.db import read_only
from storage.models import RawPageRow


def prune_raw_pages(engine: Engine, before: datetime, *, batch: int = 1000) -> int:
    """Delete raw pages fetched before ``before``, in short transactions; return the count.

    Articles stay; only the page bytes kept for re-extraction go.
    """
    removed = 0
    while True:
        with Session(engine) as session, session.begin():
            ids = session.scalars(
                select(RawPageRow.article_id).where(RawPageRow.fetched_at < before).limit(batch)
            ).all()
            if not ids:
                return removed
            session.execute(delete(RawPageRow).where(RawPageRow.article_id.in_(ids)))
            removed += len(ids)


def raw_page_count(engine: Engine) -> int:
    with Session(read_only(engine)) as session:
        return int(session.scalar(select(func.count()).select_from(RawPageRow)) or 0)


def optimize(engine: Engine) -> str:
    """Reclaim space and refresh planner statistics; says what it ran."""
    if engine.dialect.name == "sqlite":
        # VACUUM cannot run inside a transaction; a raw connection in autocommit can.
        raw = engine.raw_connection()
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            raw.execute("VACUUM")
            raw.execute("PRAGMA optimize")
        finally:
            raw.close()
        return "VACUUM; PRAGMA optimize"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    return "VACUUM (ANALYZE)"
