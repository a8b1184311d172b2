"""Fetching: the one guarded HTTP client, its limits, status classification and page decoding.

``client`` (Fetcher: deadline, redirects, per-host slots), and, as they are split out of it,
the SSRF guard, the body caps and the status table; ``decode`` turns page bytes into text.
"""

from ingest.fetch.client import Fetcher, HttpConfig, Resolver, classify_status

__all__ = ["Fetcher", "HttpConfig", "Resolver", "classify_status"]
