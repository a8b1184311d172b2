"""docs/data-model.md documents every table and column the models define, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.models import Base

DATA_MODEL = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
#: Columns that exist on one engine only and so are not in the models (storage.search).
ENGINE_ONLY_COLUMNS = {"articles": {"search_vector"}}


def data_model_tables() -> dict[str, set[str]]:
    """``## `table` `` sections of the data model page and the columns of their tables."""
    text = DATA_MODEL.read_text(encoding="utf-8")
    tables: dict[str, set[str]] = {}
    for block in re.split(r"\n## ", text)[1:]:
        heading, _, body = block.partition("\n")
        name = re.fullmatch(r"`(\w+)`", heading.strip())
        if name:
            tables[name.group(1)] = set(re.findall(r"^\| `(\w+)` \|", body, flags=re.MULTILINE))
    return tables


def test_the_page_documents_tables() -> None:
    assert len(data_model_tables()) >= 10


@pytest.mark.parametrize("table", [pytest.param(t, id=t) for t in Base.metadata.tables])
def test_every_model_column_is_documented(table: str) -> None:
    documented = data_model_tables()
    assert table in documented, f"docs/data-model.md has no ## `{table}` section"
    columns = {c.name for c in Base.metadata.tables[table].columns}
    assert columns - documented[table] == set(), f"undocumented columns of {table}"


def test_nothing_documented_that_does_not_exist() -> None:
    for table, columns in data_model_tables().items():
        assert table in Base.metadata.tables, (
            f"docs/data-model.md documents a table {table} we do not have"
        )
        real = {c.name for c in Base.metadata.tables[table].columns}
        extra = columns - real - ENGINE_ONLY_COLUMNS.get(table, set())
        assert extra == set(), f"docs/data-model.md documents columns of {table} we do not have"
