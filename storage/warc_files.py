"""WARC backfill files: how far each got, so a re-run skips or resumes them.

One row per (file, scope): the scope names the sites and days the file was read for
(``ingest.backfill.warc_pages.selection_scope``). A file is ``running`` from its start until
it is ``done`` or ``failed``; each step of it (pages stored, then progress recorded) moves its
counts and ``resume_offset`` forward in a short transaction of its own. A run killed between
storing a step and recording it stores that step's pages again on resume, which the store
counts as duplicates: nothing is stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ingest.backfill.days import DayRange
from ingest.backfill.warc_pages import WarcCounts, WarcFileStatus, WarcProgress
from storage.db import read_only
from storage.models import WarcFileRow
from storage.repository import dialect_insert

__all__ = ["file_progress", "record_progress", "start_file"]


def _now() -> datetime:
    return datetime.now(UTC)


def _progress(row: WarcFileRow) -> WarcProgress:
    return WarcProgress(
        status=WarcFileStatus(row.status),
        counts=WarcCounts(
            records=row.records,
            kept=row.kept,
            stored=row.stored,
            duplicates=row.duplicates,
            out_of_range=row.out_of_range,
            failed_pages=row.failed_pages,
        ),
        bytes_read=row.bytes_read,
        resume_offset=row.resume_offset,
        error=row.error,
    )


def file_progress(engine: Engine, scope: str, urls: Sequence[str]) -> dict[str, WarcProgress]:
    """The recorded progress of the given files for ``scope``, by URL (absent: never started)."""
    found: dict[str, WarcProgress] = {}
    with Session(read_only(engine)) as session:
        for start in range(0, len(urls), 500):
            chunk = list(urls[start : start + 500])
            rows = session.scalars(
                select(WarcFileRow).where(WarcFileRow.scope == scope, WarcFileRow.url.in_(chunk))
            )
            for row in rows:
                found[row.url] = _progress(row)
    return found


def start_file(
    engine: Engine, *, source: str, url: str, scope: str, days: DayRange
) -> WarcProgress:
    """Mark a file running and return where to resume it (the start for a new file)."""
    now = _now()
    with Session(engine) as session, session.begin():
        stmt = dialect_insert(session)(WarcFileRow).values(
            source=source,
            url=url,
            scope=scope,
            first_day=days.first,
            last_day=days.last,
            status=WarcFileStatus.RUNNING.value,
            records=0,
            kept=0,
            stored=0,
            duplicates=0,
            out_of_range=0,
            failed_pages=0,
            bytes_read=0,
            resume_offset=0,
            started_at=now,
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[WarcFileRow.url, WarcFileRow.scope],
                set_={"status": WarcFileStatus.RUNNING.value, "error": None, "finished_at": None},
            )
        )
        row = session.scalars(
            select(WarcFileRow).where(WarcFileRow.url == url, WarcFileRow.scope == scope)
        ).one()
        return _progress(row)


def record_progress(engine: Engine, *, url: str, scope: str, progress: WarcProgress) -> None:
    """Record a file's counts, offset and status (a finished status sets ``finished_at``)."""
    counts = progress.counts
    finished = progress.status is not WarcFileStatus.RUNNING
    with Session(engine) as session, session.begin():
        session.execute(
            update(WarcFileRow)
            .where(WarcFileRow.url == url, WarcFileRow.scope == scope)
            .values(
                status=progress.status.value,
                records=counts.records,
                kept=counts.kept,
                stored=counts.stored,
                duplicates=counts.duplicates,
                out_of_range=counts.out_of_range,
                failed_pages=counts.failed_pages,
                bytes_read=progress.bytes_read,
                resume_offset=progress.resume_offset,
                error=progress.error,
                finished_at=_now() if finished else None,
            )
        )
