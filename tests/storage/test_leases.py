"""Leases on SQLite and PostgreSQL: exactly one holder, expiry, dead holders, release."""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.leases import acquire, acquire_many, new_holder, release

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_one_holder_at_a_time_until_release(engine: Engine) -> None:
    a, b = new_holder(), new_holder()
    assert acquire(engine, "feed:x", a, now=T0)
    assert not acquire(engine, "feed:x", b, now=T0)
    assert acquire(engine, "feed:x", a, now=T0)  # re-entrant for its holder
    release(engine, ["feed:x"], b)  # someone else's release changes nothing
    assert not acquire(engine, "feed:x", b, now=T0)
    release(engine, ["feed:x"], a)
    assert acquire(engine, "feed:x", b, now=T0)


def test_an_expired_lease_is_free(engine: Engine) -> None:
    assert acquire(engine, "feed:x", "other-host:1:a", ttl=timedelta(minutes=5), now=T0)
    assert not acquire(engine, "feed:x", "other-host:2:b", now=T0 + timedelta(minutes=4))
    assert acquire(engine, "feed:x", "other-host:2:b", now=T0 + timedelta(minutes=6))


def test_a_dead_process_on_this_host_does_not_block(engine: Engine) -> None:
    dead = f"{socket.gethostname()}:{2**22 + 12345}:dead"  # above the kernel's pid_max default
    alive = f"{socket.gethostname()}:{os.getpid()}:live"
    assert acquire(engine, "feed:dead", dead, now=T0)
    assert acquire(engine, "feed:dead", new_holder(), now=T0)
    assert acquire(engine, "feed:live", alive, now=T0)
    assert not acquire(engine, "feed:live", new_holder(), now=T0)


def test_racing_runs_get_each_lease_exactly_once(engine: Engine) -> None:
    names = [f"feed:{n}" for n in range(20)]
    holders = [f"remote-host:{n}:x" for n in range(8)]
    won: dict[str, set[str]] = {}
    barrier = threading.Barrier(len(holders))

    def race(holder: str) -> None:
        barrier.wait()
        won[holder] = acquire_many(engine, names, holder)

    threads = [threading.Thread(target=race, args=(h,)) for h in holders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [name for names_won in won.values() for name in names_won]
    assert sorted(taken) == sorted(names)  # every lease once, none twice
