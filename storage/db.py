"""Engines and schema migrations.

SQLite gets the settings that make concurrent writers safe: ``busy_timeout`` first, then WAL,
``synchronous=NORMAL``, foreign keys, and ``BEGIN IMMEDIATE`` for every transaction so a reader
never has to upgrade its lock mid-transaction. A deferred ``BEGIN`` that reads and then writes
gets SQLITE_BUSY at once, without waiting for the busy timeout, when another connection wrote
in between (SQLite's "Transaction" page, ``lang_transaction.html``); SQLAlchemy's pysqlite
dialect documents the ``begin`` event recipe used here ("Serializable isolation / Savepoints /
Transactional DDL"). Postgres goes through
psycopg 3.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from ingest.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant works; it only has to be the same in every newsflow process.
_PG_MIGRATION_LOCK = 0x6E657773
READ_ONLY = "newsflow_read_only"


class SchemaError(ConfigError):
    """The database schema is not the one this newsflow needs."""


def normalize_url(url: str) -> str:
    """Pick newsflow's drivers: psycopg 3 for Postgres, the stdlib for SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r}") from exc
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with newsflow's connection settings."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # busy_timeout must come first: switching to WAL can itself hit a lock.
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front so they never fail upgrading a read lock;
        # readers must not queue behind writers, and WAL gives them a consistent snapshot.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Engine:
    """The same engine for transactions that only read (no write lock on SQLite)."""
    return engine.execution_options(**{READ_ONLY: True})


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (serialized across processes)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty database; refuse one that is behind or ahead of this code.

    A new database (no newsflow tables yet) is migrated automatically so the quickstart is
    one command; an existing one is only migrated by ``newsflow db upgrade``.
    """
    try:
        current = current_revision(engine)
        has_tables = bool(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise ConfigError(f"cannot open database {engine.url!r}: {exc.orig}") from exc
    head = head_revision()
    if current == head:
        return
    if current is None and not has_tables:
        log.info("new database: creating the newsflow schema")
        upgrade(engine)
        return
    if current is None:
        raise SchemaError(
            "the database has tables but no newsflow schema version: is this newsflow's database?"
        )
    raise SchemaError(
        f"database schema is at revision {current}, this newsflow needs {head}: "
        "run `newsflow db upgrade`"
    )
