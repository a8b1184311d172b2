"""Parse a page once into an lxml tree, tolerant of the HTML found in the wild."""

from __future__ import annotations

import lxml.html
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from ingest.errors import ExtractError

__all__ = ["parse_document", "select"]

# lxml.html picks each element's Python class in a Python callback (FormElement for <form>,
# InputElement for <input>...), called every time lxml wraps a node: hundreds of thousands
# of calls per thousand pages. The extractor needs only HtmlElement's methods
# (text_content, drop_tree...), so one class for every element is chosen in C instead.
_LOOKUP = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)


def parse_document(html: str) -> HtmlElement:
    """Parse ``html`` into the root ``<html>`` element, without comments."""
    # Feeding UTF-8 bytes with an explicit encoding makes lxml ignore any charset the markup
    # declares (the text is already decoded) and accept an XML declaration in a str.
    # huge_tree lifts libxml2's 256-level nesting cap to 2048 so deep (but real) pages keep
    # their text; the byte size is already capped by the fetcher.
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
    )
    parser.set_element_class_lookup(_LOOKUP)
    # libxml2 turns NUL into U+FFFD; a NUL is never text, so it goes before parsing.
    data = html.replace("\x00", "").encode("utf-8", errors="replace")
    try:
        root: HtmlElement = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"the page could not be parsed as HTML: {exc}") from exc
    return root


def select(path: etree.XPath, root: HtmlElement) -> list[HtmlElement]:
    """Return the elements a compiled XPath finds under ``root`` (typed for callers)."""
    found = path(root)
    return [el for el in found if isinstance(el, HtmlElement)] if isinstance(found, list) else []
