"""Deduplication: identity keys and content hashes (``keys``), near-duplicate signatures
(``neardup``)."""
