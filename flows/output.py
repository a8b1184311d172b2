"""Rendering rows for people (rich tables) and for programs (JSON lines, CSV)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table


def iso_utc(value: datetime | None) -> str | None:
    """``2021-09-15T22:51:00Z``: ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in row.items()}


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line; returns how many rows were written."""
    count = 0
    for row in rows:
        out.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], keys: Sequence[str], out: TextIO) -> int:
    """A header of ``keys``, then one line per row (lists and booleans as JSON, times in ISO
    UTC)."""
    writer = csv.writer(out)
    writer.writerow(keys)
    count = 0
    for row in rows:
        count += 1
        values = jsonable(row)
        writer.writerow(
            [
                json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict, bool)) else v
                for v in (values.get(k) for k in keys)
            ]
        )
    return count


def render_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    console: Console | None = None,
    widths: dict[str, int] | None = None,
) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        numeric = rows and isinstance(rows[0].get(col), (int, float))
        table.add_column(
            col, justify="right" if numeric else "left", max_width=(widths or {}).get(col)
        )
    for row in rows:
        values = jsonable(row)
        table.add_row(*[_cell(values.get(c)) for c in columns])
    (console or Console()).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
