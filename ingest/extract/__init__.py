"""Article extraction: from a page's HTML to an ``Article`` (text, title, authors, dates...).

``extract_article`` parses the page once, reads its metadata (``metadata``, ``jsonld``,
``titles``, ``authors``, ``datelines``, ``published``, ``zones``, ``lang``), then finds the
main text (``boilerplate``, ``phrases``, ``body``, ``lead``, ``reconcile``). ``html_to_text``
turns feed summaries and content into plain paragraphs.
"""

from ingest.extract.article import extract_article
from ingest.extract.text import html_to_text

__all__ = ["extract_article", "html_to_text"]
