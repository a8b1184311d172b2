"""Backfills: the days of a range (``days``), and where a site's past pages are listed:
its sitemaps (``sitemaps``) and its feed archives (``archive``)."""
