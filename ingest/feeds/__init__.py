"""Feeds: the feeds file (``sources``), parsing a feed document (``parse``), when to fetch a
feed next (``schedule``) and how feeds are split between workers (``shards``)."""
