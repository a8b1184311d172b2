"""README's "Data model" documents every table and column the models define, and nothing else.

A page of docs/ may document its own tables in a "## Data model" section of the same shape
(docs/backfills-warc.md: ``warc_files``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.models import Base

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = (README, ROOT / "docs" / "backfills-warc.md")
#: Columns that exist on one engine only and so are not in the models (storage.search).
ENGINE_ONLY_COLUMNS = {"articles": {"search_vector"}}


def data_model_tables() -> dict[str, set[str]]:
    """``### `table` `` subsections of "## Data model" and the columns of their tables."""
    tables: dict[str, set[str]] = {}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        section = text.split("\n## Data model\n", 1)[1].split("\n## ", 1)[0]
        for block in re.split(r"\n### ", section)[1:]:
            heading, _, body = block.partition("\n")
            name = re.fullmatch(r"`(\w+)`", heading.strip())
            if name:
                columns = re.findall(r"^\| `(\w+)` \|", body, flags=re.MULTILINE)
                tables[name.group(1)] = set(columns)
    return tables


def test_the_section_exists_and_documents_tables() -> None:
    assert len(data_model_tables()) >= 10


@pytest.mark.parametrize("table", [pytest.param(t, id=t) for t in Base.metadata.tables])
def test_every_model_column_is_documented(table: str) -> None:
    documented = data_model_tables()
    assert table in documented, f"README Data model has no ### `{table}` subsection"
    columns = {c.name for c in Base.metadata.tables[table].columns}
    assert columns - documented[table] == set(), f"undocumented columns of {table}"


def test_nothing_documented_that_does_not_exist() -> None:
    for table, columns in data_model_tables().items():
        assert table in Base.metadata.tables, f"README documents a table {table} we do not have"
        real = {c.name for c in Base.metadata.tables[table].columns}
        extra = columns - real - ENGINE_ONLY_COLUMNS.get(table, set())
        assert extra == set(), f"README documents columns of {table} we do not have"
