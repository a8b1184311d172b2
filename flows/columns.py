"""The columns of the backfill tables: one definition for the run's artifact and the command's
table, so the two never disagree. Light on purpose: the command line imports it before Prefect."""

from __future__ import annotations

BACKFILL_COLUMNS = (
    "day",
    "status",
    "feeds",
    "pages",
    "new",
    "updated",
    "duplicates",
    "failed_pages",
    "disallowed",
)

# The artifact of a WARC backfill has every column; the terminal table leaves out the seconds.
WARC_COLUMNS = (
    "file",
    "status",
    "records",
    "kept",
    "stored",
    "duplicates",
    "out_of_range",
    "failed_pages",
    "mb",
    "mb_per_s",
    "seconds",
)
WARC_TABLE_COLUMNS = WARC_COLUMNS[:-1]
