"""Find the dates a page shows near its headline: ``<time>`` elements and visible date lines.

A visible line such as "Wednesday, 15 September, 2021 - 23:51" or "Published 15 Sep 2021,
23:51 BST" is rewritten into an unambiguous string for ``parse_date``
(``ingest.extract.dates.parse``). A time without a zone is read as UTC (the page gives no
better evidence). Day/month order of slashed dates ("03/04/2021") is unknowable, so those
are only read when one part exceeds 12.
A page showing no date in those places may still show one in the article's side column or at
the head of one of its first paragraphs ("27.1.2022 - Bei der ..."): read as a last resort.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import NamedTuple
from zoneinfo import ZoneInfo

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.boilerplate import is_comment_section, is_related_list, name_words
from ingest.extract.candidates import Candidate
from ingest.extract.dates.datewords import MONTH_NAMES, TO_ASCII_DIGITS
from ingest.extract.dates.parse import ZONE_NAMES, parse_date
from ingest.extract.document import select
from ingest.extract.region import blocks_after, in_furniture, in_page_header, text_key
from ingest.extract.text import SILENT_TAGS, clean_text, word_set

__all__ = ["DateMention", "ShownDates", "date_from_url", "find_dates", "read_date_line"]

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# US zone names without a season: the offset depends on the date.
_REGIONAL_ZONES = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}
_ZONES = ZONE_NAMES | frozenset(_REGIONAL_ZONES)

_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DAY = r"(?P<day>[0-3]?\d)"
_MONTH = r"(?P<month>[^\W\d_]{2,12})"
_DATE_PATTERNS = (
    re.compile(rf"\b{_DAY}(?:st|nd|rd|th|er)?\.?\s+(?:de\s+)?{_MONTH}\.?,?\s+(?:de\s+)?{_YEAR}\b"),
    re.compile(rf"\b{_MONTH}\.?\s+{_DAY}(?:st|nd|rd|th)?,?\s+{_YEAR}\b"),
    re.compile(rf"\b{_YEAR}-(?P<month>[01]?\d)-{_DAY}\b"),
    re.compile(rf"\b{_DAY}\.(?P<month>[01]?\d)\.{_YEAR}\b"),
    # "23.09.22": a two-digit year only in the dotted European form, read as 20xx.
    re.compile(
        r"(?<![\d.])(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.(?P<short_year>[0-3]\d)(?![\d.])"
    ),
    re.compile(rf"\b(?P<first>[0-3]?\d)/(?P<second>[0-3]?\d)/{_YEAR}\b"),
    # "2021年9月15日" (Chinese, Japanese) and "2021년 9월 15일" (Korean): no word boundary
    # separates these digits from the characters around them.
    re.compile(
        r"(?<!\d)(?P<year>(?:19|20)\d{2})\s*[年년]\s*(?P<month>[01]?\d)\s*[月월]"
        r"\s*(?P<day>[0-3]?\d)\s*[日일]"
    ),
    # "2021. szeptember 15." (Hungarian): the year first, then a month name.
    re.compile(rf"\b{_YEAR}\.\s+{_MONTH}\s+{_DAY}\.?(?!\d)"),
)
_TIME = re.compile(
    r"(?<![\d:.])(?P<hour>[0-2]?\d)(?:[:.h]|時|시\s?)(?P<minute>[0-5]\d)[分분]?"
    r"(?::(?P<second>[0-5]\d))?(?![\d])"
    r"\s*(?P<ampm>[AaPp]\.?\s?[Mm]\b\.?)?(?:\s*(?:Uhr|h)\b)?"
    r"(?:\s*\(?(?P<zone>(?:GMT|UTC)\s*[+-]\s*\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|[A-Z]{2,5}\b))?"
)
_WEEKDAY_BEFORE = re.compile(
    r"\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|urday)?\.?,?\s*$"
    r"|\b(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi"
    r"|jeudi|vendredi|samedi|dimanche),?\s*$",
    re.IGNORECASE,
)
# What sits between a date and its time: punctuation, a word for "at" ("um", "à", "в", "klo"),
# a year mark ("2021 г.", "2021 r."), a weekday in brackets ("2021年9月15日(水)").
_JOINER = re.compile(
    r"(?:[\s,|–—/-]*(?:(?:at|um|à|a\s+las|alle|ore|om|às|kl|klo|kello|o|в|saat|г|года|r)"
    r"(?![^\W\d_])\.?|\([^()\d]{1,4}\)))*[\s,|–—/-]*",
    re.IGNORECASE,
)
_LAST_DIGIT = re.compile(r".*\d", re.DOTALL)
_UPDATE_WORDS = re.compile(
    r"updat|modifi|aktualisiert|geändert|mis à jour|actualiz|aggiornat|bijgewerkt|atualiz",
    re.IGNORECASE,
)
_DATE_HINTS = word_set(
    """date time dates published publish pubdate posted timestamp dateline datetime meta byline
    updated info details postmeta entrymeta postinfo postdate entrydate submitted"""
)
_UPDATE_HINTS = word_set("updated update modified datemodified lastupdated")
_MAX_LINE = 250
# Inside the article, its own footer and aside (a meta column) carry its date.
_OWN_PARTS = frozenset(("footer", "aside"))
# Reached through the attributes: three times faster in libxml2 than testing every element.
# ``contains``: one element may name several properties ("datePublished dateCreated").
_MARKED_DATES = etree.XPath(
    "//@itemprop[contains(., 'datePublished') or contains(., 'dateCreated')"
    " or contains(., 'dateModified')]/.. | //@property/.."
)
# Creation dates a story as well as publication does.
_PUBLISHED_PROPS = frozenset(("datePublished", "dateCreated"))
_RDFA_DATES = {
    "dc:date dc:created": "datePublished",
    "dc:created": "datePublished",
    "dc:date": "datePublished",
    "dcterms:created": "datePublished",
    "dcterms:issued": "datePublished",
    "schema:datePublished": "datePublished",
    "dc:modified": "dateModified",
    "dcterms:modified": "dateModified",
    "schema:dateModified": "dateModified",
}
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?=[/_.-]|$)"
)
_MAX_LINE_NODES = 20
_BEFORE_HEADLINE = 15
_AFTER_HEADLINE = 80
_MAX_SCANNED = 5000
_FAR_FUTURE = datetime(9999, 1, 1)  # parse_date's clamp: any past date is plausible
# A side column inside the article may hold its date; comments and related lists never do.
_SIDE = frozenset(("navigation", "aside", "complementary", "footer"))
_LEAD_SIBLINGS = 12
_LEAD_PARAGRAPHS = 3
_LEAD_CHARS = 80
_LEAD_LABEL = re.compile(
    r"^(?:(?:datum|date|fecha|data|stand|published|veröffentlicht(?:\s+am)?|publié\s+le)\s*:?"
    r"|(?:pressemitteilung|pressemeldung|meldung|mitteilung|artikel|beitrag|press\s+release)"
    r"\s+(?:vom|of|from)?)\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date found in a line of text, rewritten for ``parse_date``."""

    value: str  # "15 Sep 2021 23:51:00 BST" or "2021-09-15"
    raw: str  # the text as shown
    updated: bool  # labelled as an update ("Updated 3 May 2021")


def read_date_line(line: str) -> list[DateMention]:
    """Return the dates written in a short line of text, in order."""
    found: list[tuple[int, DateMention]] = []
    taken: list[tuple[int, int]] = []
    ascii_line = line.translate(TO_ASCII_DIGITS)  # same length: positions hold in both
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(ascii_line):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            mention = _mention(ascii_line, match, shown=line)
            if mention is not None:
                taken.append((match.start(), match.end()))
                found.append(mention)
    return [mention for _, mention in sorted(found, key=lambda pair: pair[0])]


def _month_number(word: str) -> int | None:
    if word.isdigit():
        number = int(word)
        return number if 1 <= number <= 12 else None
    return MONTH_NAMES.get(word.lower().rstrip("."))


def _mention(line: str, match: re.Match[str], shown: str) -> tuple[int, DateMention] | None:
    groups = match.groupdict()
    if groups.get("first"):
        first, second = int(groups["first"]), int(groups["second"])
        if first > 12 >= second:
            day, month = first, second
        elif second > 12 >= first:
            day, month = second, first
        else:
            return None
    else:
        number = _month_number(groups["month"])
        if number is None:
            return None
        day, month = int(groups["day"]), number
    year = int(groups["year"]) if groups.get("year") else 2000 + int(groups["short_year"])
    if not 1 <= day <= 31:
        return None
    time_match = _TIME.match(line, _skip_joiners(line, match.end()))
    if time_match is None:
        time_match = _time_before(line, match.start())
    start = min(match.start(), time_match.start()) if time_match else match.start()
    end = max(match.end(), time_match.end()) if time_match else match.end()
    weekday = _WEEKDAY_BEFORE.search(line, max(0, start - 12), start)
    if weekday is not None:
        start = weekday.start()
    # The label is what precedes this date since the previous number ("| Updated ").
    label = _LAST_DIGIT.sub("", line[max(0, start - 40) : start])
    updated = bool(_UPDATE_WORDS.search(label))
    raw = shown[start:end].strip(" ,-–—|")
    if time_match is None:
        return start, DateMention(f"{year:04d}-{month:02d}-{day:02d}", raw, updated)
    value = _with_time(year, month, day, time_match)
    return (start, DateMention(value, raw, updated)) if value else None


def _skip_joiners(line: str, index: int) -> int:
    """Skip the words and punctuation that sit between a date and its time ("at", " - ")."""
    found = _JOINER.match(line, index)
    return found.end() if found else index


def _time_before(line: str, index: int) -> re.Match[str] | None:
    """Find a time written just before the date ("23:51, 15 September 2021")."""
    last = None
    for candidate in _TIME.finditer(line, max(0, index - 30), index):
        last = candidate
    if last is None or ":" not in last.group(0):
        return None
    # Only separators and perhaps a weekday may sit between the time and the date.
    between = line[last.end() : index].strip(" ,-–—|")
    if between and not _WEEKDAY_BEFORE.fullmatch(between + " "):
        return None
    return last


def _with_time(year: int, month: int, day: int, found: re.Match[str]) -> str | None:
    hour, minute = int(found["hour"]), int(found["minute"])
    second = int(found["second"] or 0)
    ampm = (found["ampm"] or "").lower().replace(".", "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23:
        return None
    zone = (found["zone"] or "").replace(" ", "")
    if zone.isalpha() and zone not in _ZONES:
        zone = ""  # an upper-case word after the time ("BY JANE DOE"), not a zone
    if zone in _REGIONAL_ZONES:
        try:
            local = datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None
        offset = local.replace(tzinfo=ZoneInfo(_REGIONAL_ZONES[zone])).strftime("%z")
        zone = offset
    value = f"{day} {_MONTH_ABBR[month - 1]} {year} {hour:02d}:{minute:02d}:{second:02d}"
    return f"{value} {zone}".strip()


class ShownDates(NamedTuple):
    """The dates a page shows: its publication and update dates, and for a page that shows
    no publication date elsewhere, one opening a paragraph (a last resort: it ranks after the
    feed entry's date)."""

    published: list[Candidate[str]]
    updated: list[Candidate[str]]
    fallback: list[Candidate[str]]


def find_dates(root: HtmlElement, region: HtmlElement, headline: HtmlElement | None) -> ShownDates:
    """Return the publication and update date candidates of the article's markup and lines."""
    published: list[Candidate[str]] = []
    updated: list[Candidate[str]] = []
    scope = _Scope(region, headline)
    for element in select(_MARKED_DATES, root):
        if element.tag == "meta":
            continue
        # Microdata (itemprop) and RDFa (property="dc:created", Drupal's default).
        prop = _microdata_date(element.get("itemprop") or "") or _RDFA_DATES.get(
            element.get("property") or ""
        )
        if prop in ("datePublished", "dateModified"):
            value = element.get("datetime") or element.get("content") or element.text_content()
            target = published if prop == "datePublished" else updated
            if value and value.strip() and not scope.foreign(element):
                source = "time" if element.tag == "time" else "dom"
                target.append(_readable(value.strip(), source, f"itemprop={prop}"))
    side: list[Candidate[str]] = []  # a <time> in the article's side column, if nothing else
    for element in region.iter("time"):
        value = (element.get("datetime") or "").strip()
        if not value:
            continue
        if scope.foreign(element, allow=_OWN_PARTS):
            if not side and not _labelled_update(element) and _in_side_column(element, scope):
                side.append(
                    _readable(value, "time", "<time datetime> in the article's side column")
                )
            continue
        target = updated if _labelled_update(element) else published
        target.append(_readable(value, "time", "<time datetime>"))
    for mention in _date_lines(scope):
        target = updated if mention.updated else published
        target.append(Candidate(mention.value, "dom", "date line", mention.raw))
    if not published:
        published.extend(_near_region(root, scope))
    if not published:
        published.extend(side)
    return ShownDates(published, updated, [] if published else _opening_dates(scope))


def _microdata_date(itemprop: str) -> str | None:
    """Return "datePublished" or "dateModified" for an itemprop naming either, else None."""
    names = set(itemprop.split())
    if names & _PUBLISHED_PROPS:
        return "datePublished"
    return "dateModified" if "dateModified" in names else None


def _readable(value: str, source: str, origin: str) -> Candidate[str]:
    """Return a marked-up date as a candidate, rewriting one written in words that
    ``parse_date`` does not know ("28. Dezember 2022" in an ``itemprop`` element)."""
    if parse_date(value, now=_FAR_FUTURE) is None:
        mentions = read_date_line(value)
        if mentions:
            return Candidate(mentions[0].value, source, origin, value)
    return Candidate(value, source, origin)


class _Scope:
    """Where the article sits on the page: its region, its headline, and the blocks that
    enclose the headline."""

    def __init__(self, region: HtmlElement, headline: HtmlElement | None) -> None:
        self.region = region
        self.headline = headline
        self._around_headline = set(headline.iterancestors()) if headline is not None else set()

    def foreign(self, element: HtmlElement, allow: frozenset[str] = frozenset()) -> bool:
        """Tell whether a date sits in furniture: a sidebar, comments, a related list...

        Only the blocks below the article's region, or below the lowest block that also
        encloses the headline, count: a block holding the headline is the article's own,
        whatever its name says ("content-area sidebar" names a layout with a sidebar).
        """
        stop: HtmlElement | None = None
        for node in element.iterancestors():
            if node is self.region or node in self._around_headline:
                stop = node
                break
        return in_furniture(element, stop, allow=allow)

    def in_headline_copy(self, element: HtmlElement) -> bool:
        """Tell whether ``element`` sits inside an h1 showing the article's headline."""
        if self.headline is None:
            return False
        heading = next(element.iterancestors("h1"), None)
        if heading is None:
            return False
        key, shown = text_key(self.headline.text_content()), text_key(heading.text_content())
        return bool(key) and shown.startswith(key)

    def in_region(self, element: HtmlElement) -> bool:
        return any(node is self.region for node in element.iterancestors())


def _near_region(root: HtmlElement, scope: _Scope) -> list[Candidate[str]]:
    """Return the first publication date shown outside the article region (blog themes put
    "Posted on" in a header or footer beside the post), never from the page's own header,
    a sidebar, a comment or a related list."""
    for element in islice(root.iter(), _MAX_SCANNED):
        if not isinstance(element.tag, str) or element.tag in SILENT_TAGS:
            continue
        if element.tag == "time":
            value = (element.get("datetime") or "").strip()
            if value and not _labelled_update(element) and _on_the_page(element, scope):
                return [Candidate(value, "time", "<time datetime> beside the article")]
            continue
        if _DATE_HINTS.isdisjoint(name_words(element)):
            continue
        line = _short_text(element)
        mentions = [m for m in read_date_line(line) if not m.updated] if line else []
        if mentions and _on_the_page(element, scope):
            first = mentions[0]
            return [Candidate(first.value, "dom", "date line beside the article", first.raw)]
    return []


def _opening_dates(scope: _Scope) -> list[Candidate[str]]:
    """A last resort: a date that opens one of the first paragraphs after the headline
    ("27.1.2022 - Bei der ...", "Pressemitteilung vom 25. Januar 2022 | Berlin - ...")."""
    if scope.headline is None:
        return []
    paragraphs = (
        p for block in blocks_after(scope.headline, _LEAD_SIBLINGS) for p in block.iter("p")
    )
    with_text = ((p, text) for p in paragraphs if (text := _opening(p)) is not None)
    for paragraph, opening in islice(with_text, _LEAD_PARAGRAPHS):
        mention = _leading_date(opening)
        if mention is not None and not scope.foreign(paragraph):
            return [Candidate(mention.value, "dom", "date opening a paragraph", mention.raw)]
    return []


def _opening(paragraph: HtmlElement) -> str | None:
    """Return the first ``_LEAD_CHARS`` characters of a paragraph's text, whitespace
    collapsed, without reading the rest of a long paragraph; None when it has no text."""
    pieces: list[str] = []
    size = 0
    has_text = False
    for piece in paragraph.itertext():
        if size < _LEAD_CHARS:
            pieces.append(piece)
            size += len(piece)
        has_text = has_text or bool(piece.strip())
        if has_text and size >= _LEAD_CHARS:
            break
    return clean_text("".join(pieces)[:_LEAD_CHARS]) if has_text else None


def _in_side_column(element: HtmlElement, scope: _Scope) -> bool:
    """Tell whether an element inside the article region sits at most in a side column: no
    block up to the region is named as comments, a related list or a teaser."""
    if scope.foreign(element, _SIDE):
        return False
    for node in element.iterancestors():
        if node is scope.region:
            return True
        words = name_words(node)
        if words and (is_comment_section(words) or is_related_list(words)):
            return False
    return False


def _leading_date(text: str) -> DateMention | None:
    """Return the date a paragraph opens with, after at most a label ("Datum:")."""
    opening = _LEAD_LABEL.sub("", text, count=1)
    mentions = read_date_line(opening)
    if mentions and not mentions[0].updated and opening.startswith(mentions[0].raw[:4]):
        return mentions[0]
    return None


def _on_the_page(element: HtmlElement, scope: _Scope) -> bool:
    """Tell whether a date beside the article may be its own: not in a sidebar, a comment,
    a related list or the page's header (the article's own footer or aside may be)."""
    if in_page_header(element):
        # A theme may print the post's title, date included, in the page header.
        return scope.in_headline_copy(element)
    if scope.in_region(element):
        return not scope.foreign(element, allow=_OWN_PARTS)
    return not scope.foreign(element)


def date_from_url(url: str) -> list[Candidate[str]]:
    """Return the day a URL's path names ("/2019/08/02/slug", "/2019-08-02-slug")."""
    found = _URL_DATE.search(url)
    if found is None:
        return []
    year, month, day = (int(part) for part in found.groups())
    return [Candidate(f"{year:04d}-{month:02d}-{day:02d}", "url", "path", found.group(0))]


def _labelled_update(element: HtmlElement) -> bool:
    parent = element.getparent()
    words = name_words(element) | (name_words(parent) if parent is not None else frozenset())
    if not _UPDATE_HINTS.isdisjoint(words):
        return "published" not in words  # "entry-date published updated" is the first date
    before = (parent.text or "") if parent is not None else ""
    return bool(_UPDATE_WORDS.search(before))


def _date_lines(scope: _Scope) -> list[DateMention]:
    """Read dates from short lines right after (else just before) the headline; without a
    headline, from the first elements named as dates ("post-date", "timestamp")."""
    region, headline = scope.region, scope.headline
    before: deque[HtmlElement] = deque(maxlen=_BEFORE_HEADLINE)
    after: list[HtmlElement] = []
    seen_headline = headline is None
    for element in islice(region.iter(), _MAX_SCANNED):
        if not isinstance(element.tag, str) or element.tag in SILENT_TAGS:
            continue
        if element is headline:
            seen_headline = True
        elif headline is None:
            if not _DATE_HINTS.isdisjoint(name_words(element)):
                after.append(element)
        elif seen_headline:
            after.append(element)
        else:
            before.append(element)
        if len(after) >= _AFTER_HEADLINE:
            break
    for group in (after, list(reversed(before))):
        for element in group:
            line = _short_text(element)
            if not line:
                continue
            mentions = read_date_line(line)
            if mentions and not scope.foreign(element):
                return mentions
    return []


def _short_text(element: HtmlElement) -> str | None:
    """Return the element's text if it is a short line (bounded work on huge elements)."""
    nodes = list(islice(element.iter(), _MAX_LINE_NODES + 1))
    if len(nodes) > _MAX_LINE_NODES or any(node.tag in SILENT_TAGS for node in nodes):
        return None
    pieces: list[str] = []
    size = 0
    for piece in element.itertext():
        size += len(piece)
        if size > _MAX_LINE * 4:
            return None
        pieces.append(piece)
    text = clean_text(" ".join(pieces))
    return text if 6 <= len(text) <= _MAX_LINE else None
