"""robots.txt files and host pauses kept between runs (``ingest.fetch.polite.PolitenessStore``).

``robots_txt`` holds the last robots.txt fetched from each origin; the fetcher trusts it for 24
hours (``ingest.fetch.robots.ROBOTS_TTL``), so a site's robots.txt is fetched once a day however
many feeds and runs read that site. Only 2xx and 4xx answers are stored: an unreachable
robots.txt forbids the host for the run that met it and is asked again by the next.
``host_pauses`` holds the pauses hosts asked for (429/503 with Retry-After); a pause is only
ever lengthened, and pauses long over are deleted when a new one is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from ingest.fetch.polite import HostPause
from ingest.fetch.robots import RobotsFile, latest_per_origin
from storage.db import read_only
from storage.models import HostPauseRow, RobotsTxtRow
from storage.repository import dialect_insert

#: Pauses over for this long are deleted when another pause is saved.
FORGET_PAUSES_AFTER = timedelta(days=7)


class SqlPolitenessStore:
    """The politeness store over one SQLAlchemy engine (short transactions, from a thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def robots(self, origin: str) -> RobotsFile | None:
        with Session(read_only(self.engine)) as session:
            row = session.get(RobotsTxtRow, origin)
            if row is None:
                return None
            return RobotsFile(row.origin, row.status, row.body, row.fetched_at)

    def robots_fetched(self) -> dict[str, datetime]:
        with Session(read_only(self.engine)) as session:
            rows = session.execute(select(RobotsTxtRow.origin, RobotsTxtRow.fetched_at))
            return {origin: fetched_at for origin, fetched_at in rows}

    def save_robots(self, files: Sequence[RobotsFile]) -> None:
        latest = latest_per_origin(files)  # one row per origin: an upsert may touch a row once
        if not latest:
            return
        values = [
            {
                "origin": robots.origin,
                "status": robots.status,
                "body": robots.body,
                "fetched_at": robots.fetched_at,
            }
            for robots in latest
        ]
        with Session(self.engine) as session, session.begin():
            stmt = dialect_insert(session)(RobotsTxtRow).values(values)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[RobotsTxtRow.origin],
                    set_={k: stmt.excluded[k] for k in ("status", "body", "fetched_at")},
                    # two runs fetching at once: the later fetch wins
                    where=RobotsTxtRow.fetched_at <= stmt.excluded.fetched_at,
                )
            )

    def pauses(self, now: datetime) -> list[HostPause]:
        with Session(read_only(self.engine)) as session:
            rows = session.scalars(select(HostPauseRow).where(HostPauseRow.until > now))
            return [HostPause(row.host, row.until, row.reason) for row in rows]

    def save_pause(self, pause: HostPause) -> None:
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(HostPauseRow).where(HostPauseRow.until < now - FORGET_PAUSES_AFTER)
            )
            stmt = dialect_insert(session)(HostPauseRow).values(
                host=pause.host, until=pause.until, reason=pause.reason, created_at=now
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[HostPauseRow.host],
                    set_={
                        "until": stmt.excluded.until,
                        "reason": stmt.excluded.reason,
                        "created_at": stmt.excluded.created_at,
                    },
                    # a pause only ever grows: a shorter one asked meanwhile does not cut it
                    where=HostPauseRow.until < stmt.excluded.until,
                )
            )
