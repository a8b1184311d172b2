"""Plain-Python ingestion stages: fetch, parse, decode, canonicalize, extract, dedup.

Nothing in this package imports Prefect; the orchestration lives in ``flows/``.
"""

__version__ = "0.1.0"
