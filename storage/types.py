"""Column types that behave the same on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: JSON on SQLite (stored as text), JSONB on Postgres.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in and out, whatever the engine stores.

    SQLite has no time zone type and hands back naive values; Postgres keeps
    ``timestamptz``. Writing a naive value is a bug in the caller, so it raises.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - defensive, SQLAlchemy parses these
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            naive: datetime = value.replace(tzinfo=UTC)
            return naive
        result: datetime = value.astimezone(UTC)
        return result
