"""full-text search, change positions and export watermarks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:10:00.000000

Full-text search (storage.search): on SQLite the FTS5 table ``articles_fts`` (external content
on ``articles``), kept in sync by triggers; on Postgres the generated ``tsvector`` column
``articles.search_vector``, in the article's language, with a GIN index.

Change positions (storage.export): ``articles.change_seq`` is set by a trigger on insert and
whenever an exported column changes, from the one-row counter ``change_counters('articles')``.
Incrementing a row (rather than a Postgres sequence) holds that row's lock until the writer
commits, so positions become visible in the order they were handed out: an export can never
see position 12 committed while 11 is still to come. SQLite writers are serialized anyway.

Articles stored before this revision get ``change_seq = id`` and are indexed for search here.

SQLite drops a table's triggers with the table: a later migration that rebuilds ``articles``
with ``batch_alter_table`` (move and copy) must create the triggers below again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns `newsflow export` writes (feed_url through feed_id): a change to any of them gives
# the article a new change position. Frozen here; a later change needs a new migration.
_EXPORTED = (
    "feed_id",
    "url",
    "canonical_url",
    "guid",
    "title",
    "authors",
    "published_at",
    "updated_at",
    "language",
    "description",
    "image_url",
    "tags",
    "site_name",
    "text",
    "word_count",
    "content_hash",
    "cluster_id",
    "duplicate_of",
    "fetched_at",
)

# Frozen copy of storage.search.LANGUAGE_CONFIGS (a test checks they agree).
_LANGUAGE_CONFIGS = {
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

# tsvector holds at most 1 MB of lexemes; 210,000 characters of 4-byte UTF-8 stay under it, so
# an enormous page can never make an insert fail. Longer bodies are searchable up to that point.
_TITLE_CHARS = 10_000
_BODY_CHARS = 200_000


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counters")),
    )
    op.create_table(
        "export_watermarks",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("exported_rows", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_export_watermarks")),
    )
    op.add_column("articles", sa.Column("change_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE articles SET change_seq = id")
    op.execute(
        "INSERT INTO change_counters (name, value) "
        "SELECT 'articles', COALESCE(MAX(id), 0) FROM articles"
    )
    op.create_index(op.f("ix_articles_change_seq"), "articles", ["change_seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        _postgres_up()
    else:
        _sqlite_up()


# --- SQLite ------------------------------------------------------------------------------------

_SQLITE_BUMP = """
    INSERT INTO change_counters (name, value) VALUES ('articles', 1)
        ON CONFLICT (name) DO UPDATE SET value = value + 1;
    UPDATE articles SET change_seq = (SELECT value FROM change_counters WHERE name = 'articles')
        WHERE id = NEW.id;
"""


def _sqlite_up() -> None:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _EXPORTED)
    op.execute(
        f"CREATE TRIGGER articles_change_insert AFTER INSERT ON articles BEGIN {_SQLITE_BUMP} END"
    )
    op.execute(
        f"CREATE TRIGGER articles_change_update AFTER UPDATE ON articles WHEN {changed} "
        f"BEGIN {_SQLITE_BUMP} END"
    )
    op.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
        "INSERT INTO articles_fts (rowid, title, text) VALUES (NEW.id, NEW.title, NEW.text); END"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        "INSERT INTO articles_fts (articles_fts, rowid, title, text) "
        "VALUES ('delete', OLD.id, OLD.title, OLD.text); END"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN "
        "INSERT INTO articles_fts (articles_fts, rowid, title, text) "
        "VALUES ('delete', OLD.id, OLD.title, OLD.text); "
        "INSERT INTO articles_fts (rowid, title, text) VALUES (NEW.id, NEW.title, NEW.text); END"
    )
    op.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")


def _sqlite_down() -> None:
    for trigger in (
        "articles_fts_update",
        "articles_fts_delete",
        "articles_fts_insert",
        "articles_change_update",
        "articles_change_insert",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS articles_fts")


# --- Postgres ----------------------------------------------------------------------------------


def _postgres_up() -> None:
    changed = f"({', '.join(f'OLD.{c}' for c in _EXPORTED)}) IS DISTINCT FROM " + (
        f"({', '.join(f'NEW.{c}' for c in _EXPORTED)})"
    )
    op.execute(
        """
        CREATE FUNCTION newsflow_article_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_counters (name, value) VALUES ('articles', 1)
                ON CONFLICT (name) DO UPDATE SET value = change_counters.value + 1
                RETURNING value INTO NEW.change_seq;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER articles_change_insert BEFORE INSERT ON articles "
        "FOR EACH ROW EXECUTE FUNCTION newsflow_article_changed()"
    )
    op.execute(
        f"CREATE TRIGGER articles_change_update BEFORE UPDATE ON articles "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION newsflow_article_changed()"
    )
    available = {
        name
        for (name,) in op.get_bind().execute(sa.text("SELECT cfgname FROM pg_catalog.pg_ts_config"))
    }
    cases = " ".join(
        f"WHEN '{code}' THEN 'pg_catalog.{config}'::regconfig"
        for code, config in sorted(_LANGUAGE_CONFIGS.items())
        if config in available
    )
    # IMMUTABLE so a generated column may use it; the language's primary subtag, lower-cased.
    op.execute(
        f"""
        CREATE FUNCTION newsflow_text_search_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE lower(substring(language FROM '^[A-Za-z]+'))
                {cases}
                ELSE 'pg_catalog.simple'::regconfig
            END
        $$
        """
    )
    op.execute(
        f"""
        ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector(newsflow_text_search_config(language),
                                  left(coalesce(title, ''), {_TITLE_CHARS})), 'A')
            || setweight(to_tsvector(newsflow_text_search_config(language),
                                     left(coalesce(text, ''), {_BODY_CHARS})), 'B')
        ) STORED
        """
    )
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")


def _postgres_down() -> None:
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
    op.execute("DROP FUNCTION IF EXISTS newsflow_text_search_config(text)")
    op.execute("DROP TRIGGER IF EXISTS articles_change_update ON articles")
    op.execute("DROP TRIGGER IF EXISTS articles_change_insert ON articles")
    op.execute("DROP FUNCTION IF EXISTS newsflow_article_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres_down()
    else:
        _sqlite_down()
    op.drop_index(op.f("ix_articles_change_seq"), table_name="articles")
    # Not batch mode: rebuilding `articles` on SQLite would cascade-delete its raw pages.
    op.drop_column("articles", "change_seq")
    op.drop_table("export_watermarks")
    op.drop_table("change_counters")
