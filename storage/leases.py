"""Leases: which run holds which feed, so overlapping runs never fetch one feed twice.

A lease is a row (name, holder, expires_at). Taking one is a single conditional statement, so
of several racing runs exactly one wins, on SQLite and Postgres alike: the database runs the
``UPDATE ... WHERE`` of each under the row's write lock, and rowcount 1 means it won
(``tests/storage/test_leases.py::test_racing_runs_get_each_lease_exactly_once`` races them). A
lease is free when it has expired, or when its holder was a process on this machine that no
longer exists (a run killed with SIGKILL does not make the next run wait for the expiry).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from storage.models import LeaseRow
from storage.repository import dialect_insert

DEFAULT_TTL = timedelta(hours=1)


def new_holder() -> str:
    """An identity for this run: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_dead(holder: str) -> bool:
    """True when ``holder`` was a process on this host that has exited."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(
    engine: Engine,
    name: str,
    holder: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> bool:
    """Take the lease ``name`` for ``holder``; False when another live run holds it."""
    now = now or datetime.now(UTC)
    expires = now + ttl
    with Session(engine) as session, session.begin():
        inserted = session.execute(
            dialect_insert(session)(LeaseRow)
            .values(name=name, holder=holder, acquired_at=now, expires_at=expires)
            .on_conflict_do_nothing(index_elements=[LeaseRow.name])
        )
        if getattr(inserted, "rowcount", 0) == 1:
            return True
        taken = session.execute(
            update(LeaseRow)
            .where(
                LeaseRow.name == name,
                (LeaseRow.expires_at < now) | (LeaseRow.holder == holder),
            )
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
        if getattr(taken, "rowcount", 0) == 1:
            return True
        current = session.scalar(select(LeaseRow.holder).where(LeaseRow.name == name))
        if current is None or not _holder_is_dead(current):
            return False
        # Take over from a dead process only if nobody else did in between.
        taken = session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.holder == current)
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
        return getattr(taken, "rowcount", 0) == 1


def acquire_many(
    engine: Engine, names: Iterable[str], holder: str, *, ttl: timedelta = DEFAULT_TTL
) -> set[str]:
    """The names of ``names`` this holder now leases."""
    return {name for name in names if acquire(engine, name, holder, ttl=ttl)}


def release(engine: Engine, names: Iterable[str], holder: str) -> None:
    """Give back leases this holder has; others' leases are untouched."""
    names = list(names)
    if not names:
        return
    with Session(engine) as session, session.begin():
        session.execute(delete(LeaseRow).where(LeaseRow.name.in_(names), LeaseRow.holder == holder))
