"""Fetching: the one guarded HTTP client, its limits, status classification and page decoding.

``client`` (Fetcher: deadline, redirects, per-host slots), and, as they are split out of it,
the SSRF guard, the body caps and the status table; ``decode`` turns page bytes into text.
Import the module you need (``from ingest.fetch.client import Fetcher``): the package itself
imports nothing, so the extraction workers, which only decode, never load httpx.
"""
