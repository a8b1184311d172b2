"""Turn a fetched feed document (RSS 0.9x/1.0/2.0, RDF, Atom, JSON Feed) into a ParsedFeed.

XML feeds go through feedparser, always as ``io.BytesIO`` (a str may be opened as a path or a
URL). Two defences run first: the body is converted to UTF-8 with feedparser's own
detection, so the next step sees the text feedparser will see, and every DOCTYPE in the prolog
is removed, so no entity declared there (billion laughs, quadratic blowup, XXE) is ever
expanded. feedparser alone would not stop them: its ``replace_doctype`` (sanitizer.py) keeps
the entity declarations it deems safe, and a literal entity referenced thousands of times
(``tests/data/feeds/quadratic_blowup.xml``) is one of those. Titles become plain text;
summaries and content stay HTML, capped, then pass nh3's allowlist sanitizer (ammonia, an
HTML5 parser in Rust), for JSON Feed too.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape, unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
import nh3
from feedparser.encodings import convert_to_utf8

from ingest.errors import ParseError
from ingest.extract.dates.parse import parse_date
from ingest.extract.text import SILENT_TAGS
from ingest.model import FeedEntry, ParsedFeed

__all__ = ["discover_feed_links", "parse_feed"]

MAX_FEED_BYTES = 16 * 1024 * 1024  # above the fetcher's 10 MiB cap: only bounds direct callers
MAX_TITLE_CHARS = 1000
MAX_HTML_BYTES = 1024 * 1024
MAX_NAME_CHARS = 200
MAX_LIST_ITEMS = 50  # authors or tags per entry
_MAX_MARKUP_CHARS = 64 * 1024  # of a title's markup examined to produce its 1 000 characters

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"
_JSON_TYPES = ("application/feed+json", "application/json")
_FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_SKIPPED_TAGS = ("script", "style", "noscript", "template")  # text dropped with the element
_BREAK_TAGS = ("br", "p", "div", "li", "tr", "td", "th", "hr", "h1", "h2", "h3", "h4")

# The root element decides: some feeds carry an XHTML DOCTYPE before <rss> (feedparser's
# illformed/always_strip_doctype.xml).
_HTML_PAGE = re.compile(
    rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    rb"(?:<!doctype\s+html[^>]*>\s*(?:<!--.*?-->\s*)*)?<html[\s>]",
    re.IGNORECASE | re.DOTALL,
)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ELEMENT = re.compile(rb"<\w")  # how feedparser finds the end of the prolog (replace_doctype)
_DOCTYPE_SYNTAX = re.compile(rb"<!--|[\"'\[\]>]")
_DOCTYPE_CLOSERS = {b'"': b'"', b"'": b"'", b"<!--": b"-->"}
_SPACES = re.compile(r"\s+")
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # NUL breaks Postgres
# Not text either: C1 controls (mis-decoded cp1252), and what lxml refuses in a string.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# "<" runs an HTML parser would read as the start of a tag, comment, declaration or PI.
_MARKUP_START = re.compile(r"<+(?=[A-Za-z/!?])")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_EMAIL_THEN_NAME = re.compile(r"\S+@\S+\s*\(([^()]*)\)")  # "jane@x.com (Jane Doe)"
_NAME_THEN_EMAIL = re.compile(r"([^<>]*?)\s*[<(]\s*\S+@\S+\s*[>)]")  # "Jane Doe <jane@x.com>"
_NAME_SEPARATORS = re.compile(r"\s*(?:[,;&|]|\band\b)\s*", re.IGNORECASE)
_BYLINE = re.compile(r"^by\s+", re.IGNORECASE)

# Feed HTML is sanitized by nh3 (ammonia's allowlist: no scripts, no event handlers, no
# javascript: links) with ammonia's own tags, plus the block elements feedparser's sanitizer
# also kept, so their paragraph breaks survive into the text.
_SANITIZER_TAGS = nh3.ALLOWED_TAGS | {"address", "dir", "font", "menu", "section", "big"}
# What the text layer never reads (SILENT_TAGS) goes with its content, not only its tags: a
# stripped <textarea> or <svg> would otherwise leave its text behind as if it were prose.
# <iframe> and <object> lose their tags but keep their text, as feedparser's sanitizer did
# (its corpus expects "safe <b>description</b>" from an iframe around "<b>description</b>").
_SANITIZER_DROPPED = SILENT_TAGS - _SANITIZER_TAGS - {"iframe", "object"}
# html5ever (under nh3) checks the stack of open elements at each block start, so its time grows
# with nesting depth times length: 20,000 nested <div> take seconds, a 1 MiB flood minutes.
# Blink stops nesting at 512 (kMaximumHTMLParserDOMTreeDepth, html_construction_site.h); markup
# that may nest deeper is first read by libxml2, which stops at depth 2048 with huge_tree, as
# html_to_text does when it reads the result.
_MAX_NESTING = 512
_TAG_OPEN_CLOSE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
_VOID_TAGS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr")
)  # fmt: skip


def parse_feed(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, now: datetime
) -> ParsedFeed:
    """Parse the feed document ``body`` fetched from ``url``.

    ``headers`` are the response headers (Content-Type, Content-Language); ``now`` is the fetch
    time that bounds entry dates. Raises ``ParseError`` when the body is not a feed at all;
    a feed that is merely malformed is parsed and the problem reported in ``warnings``.
    """
    if not isinstance(body, bytes):
        raise TypeError("parse_feed takes the response body as bytes, never a str or a URL")
    if not body.strip():
        raise ParseError("the feed is empty (no content in the response body)")
    if len(body) > MAX_FEED_BYTES:
        raise ParseError(f"the feed is too large ({len(body)} bytes, limit {MAX_FEED_BYTES})")
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    if _is_json(body, lowered.get("content-type", "")):
        return _parse_json_feed(body, url=url, now=now)
    return _parse_xml_feed(body, url=url, headers=lowered, now=now)


def discover_feed_links(html: bytes, *, url: str) -> list[str]:
    """Return the absolute URLs of the feeds an HTML page advertises with <link rel=alternate>."""
    parser = lxml.html.HTMLParser(no_network=True, remove_comments=True)
    try:
        root = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):  # an empty document advertises nothing
        return []
    base = url
    for element in root.iter("base"):
        if element.get("href"):
            base = urljoin(url, (element.get("href") or "").strip())
            break
    found: list[str] = []
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = _absolute(link.get("href"), base)
        if "alternate" in rels and kind in _FEED_LINK_TYPES and href and href not in found:
            found.append(href)
    return found


# XML feeds (feedparser)


def _parse_xml_feed(body: bytes, *, url: str, headers: dict[str, str], now: datetime) -> ParsedFeed:
    warnings: list[str] = []
    data = _to_utf8(body, headers.get("content-type", ""), warnings)
    if _HTML_PAGE.match(data, 0, 4096):
        raise ParseError("expected a feed but got an HTML page")
    data = _strip_doctypes(data)
    response_headers = {"content-type": "application/xml; charset=utf-8", "content-location": url}
    if headers.get("content-language"):
        response_headers["content-language"] = headers["content-language"]
    # Sanitizing is done per field after capping (see _sanitize), not inside feedparser.
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=response_headers, sanitize_html=False
    )
    feed, raw_entries = parsed.get("feed", {}), parsed.get("entries", [])
    title = _plain_text(feed.get("title"), MAX_TITLE_CHARS)
    if not raw_entries and title is None and (parsed.get("bozo") or not parsed.get("version")):
        raise ParseError(_not_a_feed_reason(parsed, headers.get("content-type", "")))
    if parsed.get("bozo"):
        warnings.append(f"feed is not well-formed XML: {parsed.get('bozo_exception')}")
    language = _language(feed.get("language"))
    entries = [
        _xml_entry(raw, position, url=url, language=language, now=now)
        for position, raw in enumerate(raw_entries)
    ]
    return ParsedFeed(
        title=title,
        link=_absolute(feed.get("link"), url),
        language=language,
        entries=entries,
        ttl_minutes=_ttl(feed.get("ttl")),
        warnings=warnings,
    )


def _to_utf8(body: bytes, content_type: str, warnings: list[str]) -> bytes:
    """Convert to UTF-8 exactly as feedparser would, recording a wrong declared charset.

    Doing it first means the DOCTYPE stripping sees the text feedparser parses, whatever the
    encoding (UTF-16, EBCDIC, or a UTF-7 declaration that hides "<!DOCTYPE" from a byte scan).
    """
    result: dict[str, Any] = {}
    # Only Content-Type: any other header makes feedparser assume ISO-8859-1 when it is absent.
    data: bytes = convert_to_utf8(
        {"content-type": content_type} if content_type else {}, body, result
    )
    if result.get("bozo"):
        warnings.append(f"character encoding problem: {result.get('bozo_exception')}")
    return data


def _strip_doctypes(data: bytes) -> bytes:
    """Remove every DOCTYPE before the root element, internal subset and all, in linear time."""
    kept: list[bytes] = []
    position = 0
    element = _ELEMENT.search(data)
    while (doctype := _DOCTYPE.search(data, position)) is not None:
        if element is not None and element.start() < doctype.start():
            break
        kept.append(data[position : doctype.start()])
        position = _doctype_end(data, doctype.end())
        if element is not None and element.start() < position:  # it was inside the DOCTYPE
            element = _ELEMENT.search(data, position)
    kept.append(data[position:])
    return b"".join(kept)


def _doctype_end(data: bytes, position: int) -> int:
    """Return the index just past the DOCTYPE declaration whose body starts at ``position``."""
    in_subset = False
    while (token := _DOCTYPE_SYNTAX.search(data, position)) is not None:
        symbol, position = token.group(), token.end()
        if symbol in _DOCTYPE_CLOSERS:  # skip a literal or comment in one jump
            close = data.find(_DOCTYPE_CLOSERS[symbol], position)
            if close < 0:
                break
            position = close + len(_DOCTYPE_CLOSERS[symbol])
        elif symbol in (b"[", b"]"):
            in_subset = symbol == b"["
        elif not in_subset:  # ">"
            return position
    return len(data)  # unterminated: drop the rest, the parser will report no feed


def _not_a_feed_reason(parsed: Mapping[str, Any], content_type: str) -> str:
    if content_type.split(";")[0].strip().lower() == "text/html":
        return "expected a feed but got an HTML page"
    problem = parsed.get("bozo_exception")
    if problem is not None:
        return f"the document is not a feed: it is not well-formed XML ({problem})"
    return "the document is XML but not an RSS, RDF or Atom feed"


def _xml_entry(
    raw: Mapping[str, Any], position: int, *, url: str, language: str | None, now: datetime
) -> FeedEntry:
    updated_raw = _raw_date(_own(raw, "updated"))
    published_raw = _raw_date(raw.get("published")) or updated_raw
    details = [raw.get("title_detail"), raw.get("summary_detail"), *(raw.get("content") or [])]
    tags = raw.get("tags") or []
    return FeedEntry(
        guid=_identifier(raw.get("id")),
        link=_absolute(raw.get("link"), url),
        title=_plain_text(raw.get("title"), MAX_TITLE_CHARS),
        summary=_html_of(raw.get("summary_detail")),
        content=_html_of(_main_content(raw.get("content") or [])),
        authors=_author_names(_xml_author_strings(raw)),
        published_raw=published_raw,
        published_at=parse_date(published_raw, now=now),
        updated_at=parse_date(updated_raw, now=now),
        tags=_unique(_plain_text(t.get("term") or t.get("label"), MAX_NAME_CHARS) for t in tags),
        image_url=_xml_image(raw, url),
        language=_first_language(details) or language,
        position=position,
    )


def _own(raw: Mapping[str, Any], key: str) -> Any:
    """Read ``key`` without FeedParserDict's aliases (it answers "updated" with "published")."""
    return dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)


def _xml_author_strings(raw: Mapping[str, Any]) -> list[str]:
    names = [author.get("name") or "" for author in raw.get("authors") or []]
    return names if any(names) else [raw.get("author") or ""]


def _main_content(contents: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for content in contents:
        if content.get("type") in ("text/html", "application/xhtml+xml"):
            return content
    return contents[0] if contents else None


def _xml_image(raw: Mapping[str, Any], url: str) -> str | None:
    for media in raw.get("media_content") or []:
        medium, kind = media.get("medium") or "", media.get("type") or ""
        link = _absolute(media.get("url"), url)
        untyped_image = not medium and not kind and _has_image_suffix(link)
        if link and (medium == "image" or kind.startswith("image/") or untyped_image):
            return link
    for thumbnail in raw.get("media_thumbnail") or []:
        if link := _absolute(thumbnail.get("url"), url):
            return link
    for enclosure in raw.get("enclosures") or []:
        link = _absolute(enclosure.get("href"), url)
        if link and (enclosure.get("type") or "").startswith("image/"):
            return link
    image = raw.get("image")
    return _absolute(image.get("href"), url) if isinstance(image, Mapping) else None


def _first_language(details: Iterable[Any]) -> str | None:
    for detail in details:
        if isinstance(detail, Mapping) and (language := _language(detail.get("language"))):
            return language
    return None


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes if 0 < minutes <= 366 * 24 * 60 else None


# JSON Feed (https://jsonfeed.org/version/1.1)


def _is_json(body: bytes, content_type: str) -> bool:
    first = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first in (b"{", b"<"):
        return first == b"{"
    return content_type.split(";")[0].strip().lower() in _JSON_TYPES


def _parse_json_feed(body: bytes, *, url: str, now: datetime) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"expected a JSON Feed but the body is not valid JSON: {exc}") from exc
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(JSON_FEED_VERSION_PREFIX):
        raise ParseError(
            "expected a feed but got JSON that is not a JSON Feed (no jsonfeed.org version)"
        )
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("the JSON Feed has no 'items' list")
    language = _language(document.get("language"))
    feed_authors = _json_author_strings(document)
    entries: list[FeedEntry] = []
    warnings: list[str] = []
    for position, item in enumerate(items):
        if isinstance(item, dict):
            entries.append(_json_entry(item, position, url, language, feed_authors, now))
        else:
            warnings.append(f"JSON Feed item #{position} is not an object; skipped")
    return ParsedFeed(
        title=_plain_text(document.get("title"), MAX_TITLE_CHARS),
        link=_absolute(document.get("home_page_url"), url),
        language=language,
        entries=entries,
        warnings=warnings,
    )


def _json_entry(
    item: dict[str, Any],
    position: int,
    url: str,
    language: str | None,
    feed_authors: list[str],
    now: datetime,
) -> FeedEntry:
    published_raw = _raw_date(item.get("date_published")) or _raw_date(item.get("date_modified"))
    tags = item.get("tags")
    return FeedEntry(
        guid=_identifier(item.get("id")),
        link=_absolute(item.get("url"), url) or _absolute(item.get("external_url"), url),
        title=_plain_text(item.get("title"), MAX_TITLE_CHARS),
        summary=_html_of({"type": "text/plain", "value": item.get("summary")}),
        content=_json_content(item),
        authors=_author_names(_json_author_strings(item) or feed_authors),
        published_raw=published_raw,
        published_at=parse_date(published_raw, now=now),
        updated_at=parse_date(_raw_date(item.get("date_modified")), now=now),
        tags=_unique(_plain_text(tag, MAX_NAME_CHARS) for tag in _list(tags)),
        image_url=_json_image(item, url),
        language=_language(item.get("language")) or language,
        position=position,
    )


def _json_content(item: Mapping[str, Any]) -> str | None:
    markup = item.get("content_html")
    if isinstance(markup, str) and markup.strip():
        return _html_of({"type": "text/html", "value": markup})
    return _html_of({"type": "text/plain", "value": item.get("content_text")})


def _json_author_strings(holder: Mapping[str, Any]) -> list[str]:
    authors = holder.get("authors")  # 1.1
    if not isinstance(authors, list):
        authors = [holder.get("author")]  # 1.0
    return [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]


def _json_image(item: Mapping[str, Any], url: str) -> str | None:
    for key in ("image", "banner_image"):
        if link := _absolute(item.get(key), url):
            return link
    for attachment in _list(item.get("attachments")):
        kind = attachment.get("mime_type") if isinstance(attachment, dict) else None
        if isinstance(kind, str) and kind.startswith("image/"):
            return _absolute(attachment.get("url"), url)
    return None


# Field cleaning, shared by both formats


def _markup_text(markup: str) -> str:
    """Return the text of an HTML fragment, without script/style content.

    libxml2 rather than html.parser: on Python 3.11 the latter is quadratic on inputs such as
    "<!--" repeated, and raises AssertionError on some ("<![<![").
    """
    parser = lxml.etree.HTMLParser(  # parsers are not thread-safe: one per call
        encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True
    )
    try:
        root = lxml.etree.fromstring(markup.encode("utf-8"), parser)
    except lxml.etree.LxmlError:  # a fallback that cannot fail
        return unescape(re.sub(r"<[^<>]*>", " ", markup))
    if root is None:
        return ""
    lxml.etree.strip_elements(root, *_SKIPPED_TAGS, with_tail=False)
    for element in root.iter(*_BREAK_TAGS):
        # "&#1;" is parsed into a control character, which lxml refuses to set back.
        element.tail = " " + _NOT_TEXT.sub("", element.tail or "")
    return "".join(text for text in root.itertext() if isinstance(text, str))


def _plain_text(value: Any, limit: int) -> str | None:
    """Return ``value`` as one line of plain text: no tags, entities decoded, at most ``limit``."""
    if not isinstance(value, str):
        return None
    text = value[:_MAX_MARKUP_CHARS]
    # Twice: feeds often escape their markup once more than they should ("&lt;b&gt;").
    for _ in range(2):
        if "<" not in text and "&" not in text:
            break
        text = _markup_text(_UNSTORABLE.sub("", text))
    # Markup escaped more than twice is left as text, but never as something a browser runs.
    text = _MARKUP_START.sub("", _NOT_TEXT.sub("", text))
    text = _SPACES.sub(" ", text).strip()
    return text[:limit].rstrip() or None


def _html_of(detail: Mapping[str, Any] | None) -> str | None:
    """Return a feed text construct as sanitized HTML (plain text escaped), capped at 1 MiB."""
    value = detail.get("value") if detail else None
    if not isinstance(value, str) or not value.strip():
        return None
    kind = (detail.get("type") if detail else None) or "text/html"
    value = _cap_utf8(_UNSTORABLE.sub("", value))  # before sanitizing, to bound its work
    value = escape(value, quote=False) if kind == "text/plain" else _sanitize(value)
    return _cap_utf8(value) or None


def _cap_utf8(text: str) -> str:
    if len(text) <= MAX_HTML_BYTES // 4:  # only then can the UTF-8 form exceed the cap
        return text
    return text.encode("utf-8")[:MAX_HTML_BYTES].decode("utf-8", errors="ignore")


def _sanitize(markup: str) -> str:
    """Keep the allowlisted markup of an HTML fragment (nh3).

    No ``rel`` is added to links: this HTML is read for its text and hashed, never shown.
    """
    if _may_nest_deeper(markup, _MAX_NESTING):
        markup = _through_libxml2(markup)
    cleaned = nh3.clean(
        markup, tags=_SANITIZER_TAGS, clean_content_tags=_SANITIZER_DROPPED, link_rel=None
    )
    return cleaned.strip()


def _may_nest_deeper(markup: str, limit: int) -> bool:
    """Whether open tags minus end tags ever exceed ``limit`` (an upper bound of the depth)."""
    depth = 0
    for tag in _TAG_OPEN_CLOSE.finditer(markup):
        if tag.group(1):
            depth = max(depth - 1, 0)
        elif tag.group(2).lower() not in _VOID_TAGS:
            depth += 1
            if depth > limit:
                return True
    return False


def _through_libxml2(markup: str) -> str:
    """Parse and serialize ``markup`` with libxml2 (linear, nesting bounded); nh3 runs after."""
    parser = lxml.etree.HTMLParser(  # parsers are not thread-safe: one per call
        encoding="utf-8", no_network=True, huge_tree=True, remove_comments=True, remove_pis=True
    )
    try:
        root = lxml.etree.fromstring(markup.encode("utf-8", "surrogatepass"), parser)
    except lxml.etree.LxmlError:
        return escape(markup, quote=False)
    if root is None:
        return ""
    return str(lxml.etree.tostring(root, method="html", encoding="unicode"))


def _author_names(raw_names: Iterable[str]) -> list[str]:
    """Split bylines into person names, dropping e-mail addresses."""
    names: list[str] = []
    for raw in raw_names:
        text = _plain_text(raw, 4 * MAX_NAME_CHARS) or ""
        text = _EMAIL_THEN_NAME.sub(r"\1", text)
        text = _NAME_THEN_EMAIL.sub(r"\1", text)
        for part in _NAME_SEPARATORS.split(_EMAIL.sub("", text)):
            names.append(_BYLINE.sub("", part.strip(" ()<>\"'")))
    return _unique(name[:MAX_NAME_CHARS] for name in names)


def _unique(values: Iterable[str | None]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for value in values:
        if value and value.casefold() not in seen and len(unique) < MAX_LIST_ITEMS:
            seen.add(value.casefold())
            unique.append(value)
    return unique


def _absolute(value: Any, base: str) -> str | None:
    """Resolve a link against ``base``; only http(s) links are kept."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        link = urljoin(base, value.strip())
        scheme = urlsplit(link).scheme
    except ValueError:  # e.g. unbalanced IPv6 brackets
        return None
    return link if scheme in ("http", "https") else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _has_image_suffix(link: str | None) -> bool:
    return link is not None and urlsplit(link).path.lower().endswith(_IMAGE_SUFFIXES)


def _identifier(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _UNSTORABLE.sub("", str(value)).strip() or None


def _raw_date(value: Any) -> str | None:
    return _plain_text(value, MAX_NAME_CHARS) if isinstance(value, str) else None


def _language(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip().lower()[:35] or None
