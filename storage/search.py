"""Full-text search over article titles and bodies, with each engine's own index.

One query syntax on both engines, Postgres' ``websearch_to_tsquery``: words must all match,
``"a quoted phrase"`` matches those words in order, ``-word`` excludes articles containing it,
and ``OR`` separates alternatives (``a b OR c`` is ``(a AND b) OR c``). The text is parsed here,
in Python, into words of letters and digits only, and every phrase is rendered quoted: whatever
a user types (quotes, parentheses, ``NEAR``, ``*``, ``^``, ``:``, SQL) can never break the
engine's query syntax, let alone the SQL, which gets it as a bound parameter.

- **SQLite**: the FTS5 table ``articles_fts`` (external content on ``articles``, rowid = article
  id, tokenizer ``porter unicode61 remove_diacritics 2``), kept in sync by triggers created by
  migration 0004. Ranked by ``bm25`` with the title weighted :data:`SQLITE_TITLE_WEIGHT` times the
  body.
- **Postgres**: the generated column ``articles.search_vector`` (title weight A, body weight B,
  built in the article's language via ``newsflow_text_search_config(language)``) with a GIN
  index. A query is parsed in every text search configuration newsflow maps a language to, and
  the OR of those parses selects candidates through the index; each candidate must then match
  the query parsed in *its own* language's configuration, which also gives its rank
  (``ts_rank_cd``, title weight :data:`PG_WEIGHTS`). So "elections" finds an English article
  saying "election" and a German one saying "Wahlen" only if the German stem matches, as a
  reader of each language would expect, and the index is still used.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import reduce
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, bindparam, cast, func, literal, literal_column, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY
from sqlalchemy.orm import Session

from storage.models import ArticleRow

#: The FTS5 table on SQLite (its shadow tables start with the same name).
FTS_TABLE = "articles_fts"
#: The generated ``tsvector`` column on Postgres, and its GIN index.
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "ix_articles_search_vector"
#: bm25 column weights on SQLite: (title, body).
SQLITE_TITLE_WEIGHT = 10.0
#: ts_rank_cd weights on Postgres, for labels {D, C, B, A}: a title match (A) counts 5 times a
#: body match (B).
PG_WEIGHTS = "{0.1, 0.2, 0.2, 1.0}"

#: Postgres text search configuration per ISO 639-1 language; anything else uses ``simple``
#: (no stemming, no stop words). Migration 0004 builds ``newsflow_text_search_config`` from the
#: same table, keeping only the configurations the server has.
LANGUAGE_CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}

_Ts = TypeVarTuple("_Ts")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Clause:
    """Phrases that must all appear, and phrases that must not.

    A phrase is one or more words joined by single spaces; words hold letters and digits only.
    """

    required: tuple[str, ...]
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """A parsed search: an article matches when any of its clauses does."""

    clauses: tuple[Clause, ...]


def parse_search(query: str) -> SearchTerms | None:
    """Parse web-search syntax; None when nothing is left to look for.

    As in ``websearch_to_tsquery``, ``OR`` separates alternatives and binds loosest:
    ``a b OR c`` is ``(a AND b) OR c``. An alternative with no required word (``-a OR b``) is
    dropped: "everything but a" is not a search either engine can answer from its index.
    """
    clauses: list[Clause] = []
    required: list[str] = []
    excluded: list[str] = []

    def close_clause() -> None:
        if required:
            clauses.append(Clause(tuple(required), tuple(excluded)))
        required.clear()
        excluded.clear()

    for match in _TOKEN.finditer(unicodedata.normalize("NFC", query)):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare.lower() == "or":
                close_clause()
                continue
            negated, quoted = ("-", bare[1:]) if bare.startswith("-") else ("", bare)
        phrase = " ".join(_WORD.findall(quoted.lower()))
        if phrase:
            (excluded if negated else required).append(phrase)
    close_clause()
    return SearchTerms(tuple(clauses)) if clauses else None


def fts5_expression(terms: SearchTerms) -> str:
    """The FTS5 MATCH expression: every phrase quoted, every operator explicit."""

    def clause(c: Clause) -> str:
        expression = "(" + " AND ".join(f'"{p}"' for p in c.required) + ")"
        return expression + "".join(f' NOT "{p}"' for p in c.excluded)

    return " OR ".join(f"({clause(c)})" for c in terms.clauses)


def websearch_text(terms: SearchTerms) -> str:
    """The same search re-written for ``websearch_to_tsquery``: phrases quoted, ``or``, ``-``."""

    def clause(c: Clause) -> str:
        return " ".join([f'"{p}"' for p in c.required] + [f'-"{p}"' for p in c.excluded])

    return " or ".join(clause(c) for c in terms.clauses)


def is_search_object(name: str | None) -> bool:
    """True for the search index objects migrations create outside the models.

    Autogenerate must skip them: SQLAlchemy cannot model an FTS5 table (or its shadow tables)
    or a generated ``tsvector`` column that only one engine has.
    """
    if not name:
        return False
    return name in (VECTOR_COLUMN, VECTOR_INDEX) or name.startswith(FTS_TABLE)


def apply_search(session: Session, stmt: Select[*_Ts], terms: SearchTerms) -> Select[*_Ts]:
    """Restrict ``stmt`` (a select from ``articles``) to matches and order them best first.

    Call it before adding the usual ordering, which then only breaks ties.
    """
    if session.get_bind().dialect.name == "postgresql":
        return _apply_postgres(session, stmt, terms)
    return _apply_sqlite(stmt, terms)


def _apply_sqlite(stmt: Select[*_Ts], terms: SearchTerms) -> Select[*_Ts]:
    fts = sql_table(FTS_TABLE, sql_column("rowid"))
    rank: ColumnElement[float] = literal_column(f"bm25({FTS_TABLE}, {SQLITE_TITLE_WEIGHT}, 1.0)")
    return (
        stmt.join(fts, fts.c.rowid == ArticleRow.id)
        .where(
            text(f"{FTS_TABLE} MATCH :fts_expression").bindparams(
                fts_expression=fts5_expression(terms)
            )
        )
        .order_by(rank.asc())  # bm25 is lower for better matches
    )


def _apply_postgres(session: Session, stmt: Select[*_Ts], terms: SearchTerms) -> Select[*_Ts]:
    query_text: ColumnElement[str] = bindparam("search_text", websearch_text(terms))
    vector: ColumnElement[Any] = literal_column(f"articles.{VECTOR_COLUMN}")

    def parsed(config: Any) -> ColumnElement[Any]:
        return func.websearch_to_tsquery(config, query_text, type_=TSQUERY)

    configs = _server_configs(session)
    any_language = reduce(
        lambda a, b: a.op("||")(b), [parsed(cast(literal(c), REGCONFIG)) for c in configs]
    )
    own_language = parsed(func.newsflow_text_search_config(ArticleRow.language))
    rank = func.ts_rank_cd(literal_column(f"'{PG_WEIGHTS}'::float4[]"), vector, own_language)
    return stmt.where(vector.op("@@")(any_language), vector.op("@@")(own_language)).order_by(
        rank.desc()
    )


def _server_configs(session: Session) -> list[str]:
    """``simple`` and the mapped configurations this Postgres server has."""
    wanted = sorted(set(LANGUAGE_CONFIGS.values()))
    rows = session.execute(
        text("SELECT cfgname FROM pg_catalog.pg_ts_config WHERE cfgname = ANY(:names)"),
        {"names": wanted},
    )
    return ["simple", *sorted(str(name) for (name,) in rows)]
