"""Find who wrote the article and clean each credit into a person's name.

Sources, best first: JSON-LD ``author``, meta tags (author, parsely-author, dc.creator...),
byline elements in the article (``rel=author``, ``itemprop=author``, ``.byline``, ``.author``),
labelled credits ("Autor: ..."), a by-line after the headline, and the editors a Chinese page
credits (``cjk_credits``). "By Jane Doe and John Roe, Staff Writers" gives ["Jane Doe", "John
Roe"]. A wire agency ("Jane Roe, dpa": ``agencies``) is credited after the people beside it;
an organisation (JSON-LD Organization, "Staff", "Redaktion") only when no person is named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.agencies import is_agency
from ingest.extract.boilerplate import is_caption, name_words
from ingest.extract.candidates import Candidate
from ingest.extract.cjk_credits import (
    editors_credit,
    is_cjk_by_line,
    is_cjk_outlet,
    plain_credit,
)
from ingest.extract.document import select
from ingest.extract.jsonld import JsonLd, ld_names
from ingest.extract.metadata import MetaTags
from ingest.extract.region import blocks_after, in_furniture, in_page_header
from ingest.extract.text import DENSE, clean_text, word_set

__all__ = ["AuthorCredits", "clean_author_names", "find_authors"]

_META_KEYS = (
    "author", "article:author", "parsely-author", "sailthru.author", "dc.creator",
    "dcterms.creator", "citation_author", "byl", "byline",
)  # fmt: skip
_BYLINE_WORDS = word_set(
    """byline bylines author authors authorname bylinename byauthor contributor contributors
    writer autor autoren autorenzeile autorzeile verfasser auteur auteurs autore autori firma
    firmas"""
)
_MAX_BYLINES = 12
_MAX_BYLINE_CHARS = 300
_MAX_SCANNED = 3000  # bylines sit near the top of the article
_MAX_MARKED = 20
# Elements with rel=author or itemprop=author/creator, in document order. Reaching them
# through their attributes is about three times faster in libxml2 than testing every element
# (``//*[@rel='author' or ...]``), and the union is the same node set.
_MARKED = etree.XPath("//@rel[.='author']/.. | //@itemprop[.='author' or .='creator']/..")
_LINES_AFTER_HEADLINE = 4
_MAX_LABEL_CHARS = 24
_CREDIT_LABEL = re.compile(
    r"^\s*(?:autor(?:in|en)?|authors?|auteurs?|autore|verfasser(?:in)?|text|von|by|par|por"
    r"|escrito por|written by)\s*:\s*$",
    re.IGNORECASE,
)
# A line that is only a label and a name: "Auteur : Jane Roe", "Yazar: Ahmet Yılmaz".
_CREDIT_LINE = re.compile(
    r"^\s*(?:autor(?:in|en)?|authors?|auteur(?:e|s)?|autore|verfasser(?:in)?|escrito por"
    r"|written by|yazar|作者|लेखक|بقلم)\s*[:：]\s*(\S.*)$",
    re.IGNORECASE,
)
_MAX_CREDIT_LINE_CHARS = 80
_BY_LINE_ELEMENTS = 30  # elements read inside each sibling
_MAX_BY_LINE_CHARS = 120  # a by-line is short; a paragraph starting "Von ..." is not one
_MEDIA_TAGS = frozenset(("figure", "figcaption"))
_MAX_MEDIA_DEPTH = 8

_PREFIX = re.compile(
    r"^(?:(?:written|reported|posted|words|text|story|photos?|compiled|eingestellt|erstellt"
    r"|verfasst|geschrieben|gepostet|artikel|ein artikel|beitrag|ein beitrag|blog beitrag"
    r"|publié|publicado|scritto|analysis|opinion|commentary|review|reviewed|edited|produced"
    r"|interview|essay|column|reporting|video)\s+)?"
    r"(?:by|from|von|par|por|door|av|af|przez|od)\s*:?\s+",
    re.IGNORECASE,
)
_LABEL = re.compile(
    r"^(?:authors?|autor(?:in|en)?|auteur(?:s|\(s\))?|escrito por|text|texto|testo|texte|tekst"
    r"|teksti|текст|byline|interview|redaktion\s*:|автор|بقلم|كتب)"
    r"\s*:?\s+",
    re.I,
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
# Words after which a byline stops naming people ("Jane Doe Updated 3 May").
_STOP = re.compile(
    r"\b(?:updated|published|posted|last\s+modified|aktualisiert|veröffentlicht|mis\s+à\s+jour"
    r"|publié|follow|read\s+more|share|email|\d+\s+(?:min|minutes?|hours?|days?)\b"
    r"|illustrations?\s+(?:by|von|de|par)\b|(?:photos?|fotos?|bilder?)\s+(?:by|von|de|par)\b"
    r"|\b(?:photos?|fotos?|bilder?|image|credits?)\s*:"
    r"|\b(?:datum|date|fecha|quelle|source|fuente|kategorie|category)\s*:"
    r"|\b(?:fotoğraf|foto|fotografia|صورة|फोटो|crédito)\s*[:=]"
    r"|(?:\b(?:photos?|fotos?|bild|image)\s*)?©"
    # Buttons of a profile box, picture credits and time stamps of CJK by-lines.
    r"|フォロー|구독|关注|關注|사진\s*[=:]|写真\s*[:：=]|图片|摄影|撮影|来源|來源|출처|입력|수정|更新)",
    re.IGNORECASE,
)
_SPLIT = re.compile(
    r"\s*(?:,|،|;|、|，|；|\||/|•|·|\s[-–—]\s|&"
    r"|(?i:\band\b|\bund\b|\bet\b|\bwith\b)|\s[yei]\s)\s*"
)
# "Jane Roe (AFP)", "Jane Roe mit dpa": an agency after a name, in brackets or after "with".
_BRACKETED = re.compile(r"\s*[(\[]([^()\[\]]{2,40})[)\]]")
_WITH_AGENCY = re.compile(r"\s+(?:mit|avec|con|com)\s+([^,;/|()]{2,40})$", re.IGNORECASE)
_ROLE_WORDS = word_set(
    """writer writers reporter reporters correspondent correspondents editor editors columnist
    columnists contributor contributors contributing journalist journalists staff producer
    producers analyst photographer photographers intern critic chief senior
    associate assistant special executive managing deputy redakteur
    redakteurin korrespondent korrespondentin autor autorin rédacteur rédactrice journaliste
    envoyé envoyée spécial spéciale corresponsal chefredakteur chefredakteurin
    experte expertin reporterin periodista correspondant correspondante enviado enviada
    repórter colunista correspondente muhabir muhabiri editör مراسل مراسلة محرر صحفي
    संवाददाता रिपोर्टर संपादक"""
)
# The desk of an outlet ("Redaktion"): credited alone when no person is named, dropped after a
# person's name as a job title is.
_DESK_WORDS = word_set("redaktion rédaction redacción redaccion redação redacao")
_ORG_WORDS = _DESK_WORDS | word_set(
    """news press agency staff desk team newsroom editors editorial media times post journal inc
    ltd llc service wire bureau online digital network magazine gazette tribune
    herald daily radio tv television reuters bloomberg afp dpa ap ansa efe international"""
)
# Day and month names trail bylines ("Jane Doe Thursday, November 5").
_CALENDAR_WORDS = word_set(
    """mon tue tues wed thu thur fri sat sun monday tuesday wednesday thursday friday saturday
    sunday mo di mi do fr sa so montag dienstag mittwoch donnerstag freitag samstag sonntag
    lun mar mer jeu ven sam dim lundi mardi mercredi jeudi vendredi samedi dimanche
    january february march april may june july august september october november december
    januar februar märz juni juli oktober dezember"""
)
_NOT_NAMES = _CALENDAR_WORDS | word_set(
    """admin administrator anonymous unknown guest user share follow facebook twitter email
    print comments comment more author authors opinion home menu search subscribe login by
    von vor publisher webmaster stand auteur autor autorin autore verfasser datum date quelle
    source fuente mehr plus views weiterlesen nachrichten agenturen nachrichtenagentur
    agencies agencias agences agenzie ajanslar وكالات"""
)
# A credit ending in a country is a place ("Frankfurt, Germany"): the dateline or the
# publisher's address, never a person.
_COUNTRIES = word_set(
    """germany deutschland austria österreich switzerland schweiz suisse svizzera france
    spain españa italy italia portugal usa u.s. u.s.a. uk turkey türkiye india भारत china
    中国 japan 日本 korea 한국 brazil brasil mexico méxico argentina chile colombia peru
    egypt مصر belgium belgique netherlands nederland poland polska"""
)
# Job titles a person's name may follow ("Chefredakteur Jan Roe"); "Redacción Diario" is a desk.
_TITLES = word_set(
    """reporter reporterin correspondent korrespondent korrespondentin columnist editor redakteur
    redakteurin chefredakteur chefredakteurin experte expertin journalist journalistin
    correspondant correspondante corresponsal periodista repórter correspondente muhabir
    مراسل مراسلة संवाददाता रिपोर्टर"""
)
# Names in Chinese, Japanese or Korean are a few characters long.
_MAX_DENSE_WORDS = 3
_MAX_DENSE_CHARS = 8
_PLACEHOLDERS = word_set("author authors admin administrator unknown anonymous user guest")
# A credit ends where a date starts: names hold no digits.
_DATED_TAIL = re.compile(
    r"\s+(?:(?:am|on|le|el|il|op|em|den|vom|at|um|,|\||·|-|–|—)\s+)?\S*\d.*$", re.IGNORECASE
)
_HANDLE_ONLY = re.compile(r"^[a-z][a-z0-9._-]{2,29}$")
_DOMAIN = re.compile(r"\.[a-z]{2,6}$")
_HCARD = frozenset(("fn", "vcard", "author-name", "p-author", "h-card"))
_OWN = frozenset(("navigation", "footer"))
_PARTICLES = word_set(
    "de da di del della der den van von ten ter la le du dos das bin ibn al el y e st"
)
_PERSON_TYPE_WORDS = re.compile(r"[^\W\d_]", re.UNICODE)
# An outlet's name may start with an article ("The Guardian"); a person's does not. Only
# articles no first name or surname shares: "Le", "La", "Lo", "El", "Les" are left out.
_ARTICLES = word_set("the die der das los las il gli")
# Degrees and post-nominals after a name ("Grant Tinsley, PhD"): not names of their own.
_DEGREES = word_set("phd ph.d md m.d msc ms ma mba mph rn rd rdn bsc dphil cscs lcsw mbbs facp")
# A full stop between two words of a credit ends one credit ("Jane Doe. Example News").
_SENTENCE_BREAK = re.compile(r"(?<![^\W\d_])([^\W\d_]{2,})\.\s+(?=[^\W\d_])")
_HONORIFICS = word_set("dr mr mrs ms mx prof st sr jr mag dipl ing hon rev sir gen col lt")
# Name endings written with a full stop that belongs to the name: "Perry Bacon Jr.", "Joe S."
_SUFFIXES = word_set("jr sr")
# "Jane Doe for The Mail on Sunday": who the writer works for is not part of the name.
_FOR_TAIL = re.compile(r"\s+(?:for|für|pour|para|per)\s+\S.*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AuthorCredits:
    """Authors chosen for the article and every source that offered some."""

    names: list[str]
    source: str | None
    candidates: list[Candidate[list[str]]]


@dataclass(frozen=True, slots=True)
class _Credit:
    """What one source credits: people, wire agencies and organisations, cleaned."""

    persons: list[str]
    agencies: list[str]
    orgs: list[str]
    source: str
    origin: str

    @property
    def candidate(self) -> Candidate[list[str]]:
        return Candidate(self.persons + self.agencies, self.source, self.origin)


def find_authors(
    ld: JsonLd,
    meta: MetaTags,
    region: HtmlElement,
    headline: HtmlElement | None,
    site_names: list[str],
    *,
    han: bool = False,
) -> AuthorCredits:
    """Return the people credited with the article, best source first, then the wire
    agencies credited beside them. ``han``: the page is written in Chinese characters, and
    may credit its editors as Chinese pages do (looked for only when no by-line names
    anyone: a scan of every text of the page)."""
    sources: list[_Credit] = []
    persons: list[str] = []
    orgs: list[str] = []
    for name, is_person in ld_names(ld, ld.get("author") or ld.get("creator")):
        (persons if is_person or is_agency(name) else orgs).append(name)
    sources.append(_credit(persons, orgs, "jsonld", "author", site_names))
    for key in _META_KEYS:
        values = [v for v in meta.get(key) if not _URL.match(v)]
        if values:
            sources.append(_credit(values, [], MetaTags.source(key), key, site_names))
    marked, loose, labelled = _byline_texts(region)
    # An author link (rel=author, itemprop=author) may show a user name ("gizzmo").
    sources.append(_credit(marked, [], "dom", "author link", site_names, handles=True))
    sources.append(_credit(loose, [], "dom", "byline", site_names))
    sources.append(_credit(labelled, [], "dom", "labelled credit", site_names, handles=True))
    if headline is not None:
        lines = _by_lines_after(headline)
        sources.append(_credit(lines, [], "dom", "by-line after headline", site_names))
    root = region.getroottree().getroot()
    beside = _marked_authors(root, region)
    origin = "author link beside the article"
    sources.append(_credit(beside, [], "dom", origin, site_names, handles=True))
    if han and not any(credit.persons or credit.agencies for credit in sources):
        sources.append(_credit(editors_credit(root), [], "dom", "editors", site_names))
    return _choose(sources)


def _choose(sources: list[_Credit]) -> AuthorCredits:
    """The first source naming a person, with the agencies credited beside those people;
    else the first naming an agency; else the first naming an organisation."""
    candidates = [credit.candidate for credit in sources if credit.candidate.value]
    for credit in sources:
        if credit.persons:
            names = _dedupe(credit.persons + credit.agencies + _agencies_beside(credit, sources))
            return AuthorCredits(names, credit.source, candidates)
    for credit in sources:
        if credit.agencies:
            return AuthorCredits(credit.agencies, credit.source, candidates)
    for credit in sources:
        if credit.orgs:
            chosen = Candidate(credit.orgs, credit.source, credit.origin)
            return AuthorCredits(credit.orgs, credit.source, [*candidates, chosen])
    return AuthorCredits([], None, candidates)


def _agencies_beside(chosen: _Credit, sources: list[_Credit]) -> list[str]:
    """Agencies another source credits beside one of the chosen people: JSON-LD may list
    the reporter alone while the by-line reads "Jane Roe, dpa"."""
    keys = {person.casefold() for person in chosen.persons}
    return [
        agency
        for credit in sources
        if credit is not chosen and not keys.isdisjoint(p.casefold() for p in credit.persons)
        for agency in credit.agencies
    ]


def _credit(
    raw_persons: list[str],
    raw_orgs: list[str],
    source: str,
    origin: str,
    site_names: list[str],
    *,
    handles: bool = False,
) -> _Credit:
    """Split raw credits into cleaned person names, wire agencies and organisation names."""
    site_keys = {_key(name) for name in site_names}
    persons: list[str] = []
    agencies: list[str] = []
    orgs = [clean_text(org) for org in raw_orgs if clean_text(org)]
    for raw in raw_persons:
        for name in clean_author_names(raw, handles=handles):
            if is_agency(name):
                agencies.append(name)
            elif _is_organisation(name) or _names_site(name, site_keys):
                orgs.append(name)
            else:
                persons.append(name)
    return _Credit(_dedupe(persons), _dedupe(agencies), _dedupe(orgs), source, origin)


def clean_author_names(raw: str, *, handles: bool = False) -> list[str]:
    """Turn one credit line ("By Jane Doe and John Roe, Staff") into names; with
    ``handles``, a credit that is a single user name ("gizzmo") is kept as it is."""
    text = clean_text(raw)
    text = _EMAIL.sub(" ", _URL.sub(" ", text))
    text = _HANDLE.sub(" ", text)
    stop = _STOP.search(text)
    if stop is not None:
        text = text[: stop.start()]
    text = _DATED_TAIL.sub("", text)  # "Von Jane Doe am 21. April 2020"
    if handles and _is_handle(text):
        return [text]
    text = plain_credit(text)
    if _is_place(text):
        return []
    text = _WITH_AGENCY.sub(_unbracket_agency, _BRACKETED.sub(_unbracket_agency, text))
    names: list[str] = []
    for part in _SPLIT.split(_SENTENCE_BREAK.sub(_break_sentence, text)):
        name = _strip_part(part)
        if name and (is_agency(name) or _looks_like_name(name)):
            names.append(name)
    return names


def _is_place(text: str) -> bool:
    """ "Frankfurt, Germany", "Kirche und Leben, Münster, Germany": a place, not people."""
    head, comma, last = text.rpartition(",")
    return bool(comma and head.strip()) and last.strip(" .").lower() in _COUNTRIES


def _unbracket_agency(found: re.Match[str]) -> str:
    """ "Jane Roe (AFP)", "Jane Roe mit dpa": the agency is a credit of its own."""
    inner = found.group(1).strip()
    return f", {inner}" if is_agency(inner) else found.group(0)


def _break_sentence(found: re.Match[str]) -> str:
    """ "Finian Cunningham. Sputnik International": two credits, unless the word before the
    full stop is a title ("Dr. Jane Doe") or an initial."""
    word = found.group(1)
    if len(word) < 3 or word.isupper() or word.lower() in _HONORIFICS:
        return found.group(0)  # "NH. Shear", "Dr. Jane Doe"
    return f"{word}, "


def _is_handle(text: str) -> bool:
    if not _HANDLE_ONLY.match(text) or _DOMAIN.search(text):
        return False
    lowered = text.lower()
    return lowered not in _NOT_NAMES | _ROLE_WORDS | _ORG_WORDS and "admin" not in lowered


def _strip_part(part: str) -> str:
    part = _trim(clean_text(part).strip(" :-–—()[]\"'"))
    for _ in range(2):
        part = _LABEL.sub("", part)
        stripped = _PREFIX.sub("", part)
        if stripped != part and stripped[:1].isupper():
            part = stripped
    if len(head := _FOR_TAIL.sub("", part).split()) >= 2:
        part = " ".join(head)
    words = part.split()
    # Trailing job titles, degrees and weekdays: "Jane Doe Staff Writer", "Jane Doe PhD"; a
    # desk after a person's name ("Jane Roe Redaktion"), not after an outlet's ("N-Land").
    while words and (
        _trailing_title(words[-1]) or (len(words) > 2 and words[-1].lower() in _DESK_WORDS)
    ):
        words.pop()
    # A leading job title: "Chefredakteur Jan Roe", "FOCUS-Online-Experte Jan Roe".
    while len(words) > 2 and words[0].lower().rsplit("-", 1)[-1] in _TITLES:
        words.pop(0)
    return _trim(" ".join(words))


def _trailing_title(word: str) -> bool:
    """A job title, degree or weekday after a name ("Staff", "PhD", "Editor-at-large")."""
    lowered = word.lower().strip(".,")
    head = lowered.split("-", 1)[0]
    return lowered in _ROLE_WORDS | _CALENDAR_WORDS | _DEGREES or (
        head != lowered and head in _ROLE_WORDS
    )


def _trim(text: str) -> str:
    """Strip punctuation around a name, keeping the full stop of a final initial or suffix."""
    trimmed = text.strip(" .,:")
    last = trimmed.rsplit(None, 1)[-1] if trimmed else ""
    initial = (len(last) == 1 and last.isalpha()) or last.lower() in _SUFFIXES
    if initial and text.rstrip(" ,:").endswith(trimmed + "."):
        return trimmed + "."
    return trimmed


def _looks_like_name(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 6 or not 2 <= len(name) <= 60:
        return False
    lowered = {word.lower().strip(".,") for word in words}
    if lowered <= _ROLE_WORDS | _PARTICLES | _DEGREES or name.lower() in _NOT_NAMES:
        return False
    if words[-1].lower() in _PARTICLES:
        return False  # "Beitrag von": a label whose name is missing
    if not _PLACEHOLDERS.isdisjoint(lowered):
        return False  # "No Author", "Unknown User"
    if any(ch.isdigit() for ch in name) or not _PERSON_TYPE_WORDS.search(name):
        return False
    if name.count("(") != name.count(")"):
        return False  # a label cut short ("Auteur(s")
    if DENSE.search(name):
        # A longer run of Chinese, Japanese or Korean is a sentence or a box's whole text.
        return len(words) <= _MAX_DENSE_WORDS and all(
            len(word) <= _MAX_DENSE_CHARS for word in words
        )
    # In cased scripts a name's words are capitalised (particles aside).
    return not any(word[0].islower() and word.lower() not in _PARTICLES for word in words)


def _is_organisation(name: str) -> bool:
    if is_cjk_outlet(name):
        return True  # "연합뉴스", "东方晨报"
    words = [word.lower().strip(".,") for word in name.split()]
    if any(word in _ORG_WORDS for word in words) or _DOMAIN.search(name.lower()):
        return True  # "Associated Press", "Cleveland.com"
    if len(words) > 1 and words[0] in _ARTICLES:
        return True  # "The Guardian", "Die Zeit"
    return len(words) == 1 and name.isupper() and len(name) <= 5  # "AP", "AFP", "DPA"


def _names_site(name: str, site_keys: set[str]) -> bool:
    """ "Business Insider" credits the site "Business Insider Deutschland"; "CNN Business" a
    desk of the site "CNN"."""
    key, first = _key(name), _key(name.split()[0])
    if len(first) >= 3 and first in site_keys and key != first:
        return True
    return any(key == site or (len(key) >= 6 and site.startswith(key)) for site in site_keys)


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _dedupe(names: list[str]) -> list[str]:
    """Drop repeated names, and a credit that is another name with words around it ("Show
    all articles of Jane Doe" beside "Jane Doe")."""
    keys = [name.casefold() for name in names]
    out: list[str] = []
    seen: set[str] = set()
    for name, key in zip(names, keys, strict=True):
        if key in seen or any(other != key and f" {other} " in f" {key} " for other in keys):
            continue
        seen.add(key)
        out.append(name)
    return out


def _byline_texts(region: HtmlElement) -> tuple[list[str], list[str], list[str]]:
    """Return the texts of byline elements inside the article region: those marked up as
    authors (rel=author, itemprop=author, hCard), those only named as bylines, and names
    written after a label of their own ("Autor:")."""
    marked: list[str] = []
    loose: list[str] = []
    labelled: list[str] = []
    for element in islice(region.iter(), _MAX_SCANNED):
        if len(marked) + len(loose) >= _MAX_BYLINES:
            break
        if not isinstance(element.tag, str):
            continue
        credit = None if labelled else _labelled_credit(element)
        if credit is not None and not in_furniture(element, region.getparent(), _OWN):
            labelled.append(credit)
        if not _is_byline(element):
            continue
        # Inside the article, a name such as "header-info" or "top-bar" does not make a
        # byline page navigation; comments, related lists and asides still exclude it.
        if _has_nested_byline(element) or in_furniture(element, region.getparent(), _OWN):
            continue
        if _in_media(element, region):
            continue  # "Bild © hr" under a picture credits the picture
        text = _byline_text(element)
        if text:
            (marked if _is_marked(element) else loose).append(text)
    return marked, loose, labelled


def _in_media(element: HtmlElement, region: HtmlElement) -> bool:
    """Tell whether an element sits in a picture's ``<figure>`` (below ``region``); blocks
    named "caption" or "credits" may hold the story's own header or credits."""
    for node in (element, *islice(element.iterancestors(), _MAX_MEDIA_DEPTH)):
        if node is region:
            return False
        if node.tag in _MEDIA_TAGS:
            return True
    return False


def _is_marked(element: HtmlElement) -> bool:
    if element.get("rel") == "author" or element.get("itemprop") in ("author", "creator"):
        return True
    return not _HCARD.isdisjoint((element.get("class") or "").split())


def _marked_authors(root: HtmlElement, region: HtmlElement) -> list[str]:
    """Return the first author marked up as such (rel=author, itemprop=author) outside the
    article region (blog themes put "by Jane" beside the post), never in the page header,
    a sidebar, a comment or a related list."""
    for element in select(_MARKED, root)[:_MAX_MARKED]:
        if in_furniture(element) or in_page_header(element):
            continue
        if any(node is region for node in element.iterancestors()):
            continue  # the region was read already
        text = _byline_text(element)
        if text:
            return [text]
    return []


def _labelled_credit(element: HtmlElement) -> str | None:
    """Return the name written after a label element of its own ("<h5>Autor:</h5> Peter
    Maahn", "<b>Text:</b> Jane Doe"): the label's tail, else the next element's text; or the
    name a short line of its own gives after its label ("<p>Auteur : Jane Roe</p>")."""
    text = element.text
    if not text:
        return None
    line = _CREDIT_LINE.match(text)
    if line is not None and len(element) == 0 and len(text) <= _MAX_CREDIT_LINE_CHARS:
        return line.group(1)
    if len(text) > _MAX_LABEL_CHARS or not _CREDIT_LABEL.match(text):
        return None
    credit = (element.tail or "").strip()
    if not credit:
        following = element.getnext()
        credit = (_byline_text(following) or "").strip() if following is not None else ""
    return credit or None


def _by_lines_after(headline: HtmlElement) -> list[str]:
    """Return a short "By Jane Doe" line among the blocks that follow the headline, with what
    they hold ("<div class=meta><span>Von Jane Doe"), or a CJK line naming a reporter by his
    job ("本报记者 张伟", "김민준 기자")."""
    for block in blocks_after(headline, _LINES_AFTER_HEADLINE):
        for element in islice(block.iter(), _BY_LINE_ELEMENTS):
            if not isinstance(element.tag, str) or not _opens_with_by(element):
                continue
            if _is_media_credit(element):
                continue
            text = _byline_text(element)
            line = clean_text(text) if text else ""
            if line and len(line) <= _MAX_BY_LINE_CHARS and _is_by_line(line):
                return [line]
    return []


def _opens_with_by(element: HtmlElement) -> bool:
    """Tell cheaply whether an element's text starts with "By", "Von"... or names a CJK
    reporter: its first words."""
    for piece in islice(element.itertext(), 4):
        if piece.strip():
            return _is_by_line(piece.strip() + " ")
    return False


def _is_by_line(text: str) -> bool:
    return _PREFIX.match(text) is not None or is_cjk_by_line(text.strip())


def _is_media_credit(element: HtmlElement) -> bool:
    """A picture's caption or credit ("By U.S. Customs" under a video) names no author."""
    return element.tag in _MEDIA_TAGS or is_caption(name_words(element))


def _has_nested_byline(element: HtmlElement) -> bool:
    """A byline holding several marked-up names is read through those names instead."""
    return any(
        isinstance(node.tag, str) and _is_byline(node)
        for node in islice(element.iterdescendants(), 60)
    )


def _is_byline(element: HtmlElement) -> bool:
    if element.get("rel") == "author":
        return True
    if (element.get("itemprop") or "") in ("author", "creator"):
        return True
    words = name_words(element)
    return not _BYLINE_WORDS.isdisjoint(words) and "bio" not in words


def _byline_text(element: HtmlElement) -> str | None:
    """Return a byline element's text (its itemprop=name when marked up), bounded."""
    if element.get("itemprop") in ("author", "creator"):
        name = element.find(".//*[@itemprop='name']")
        if name is not None:
            element = name
            if name.tag == "meta":
                content: str | None = name.get("content")
                return content
    pieces: list[str] = []
    size = 0
    for piece in islice(element.itertext(), 50):
        size += len(piece)
        if size > _MAX_BYLINE_CHARS:
            return None
        pieces.append(piece)
    # Inline pieces are joined by spaces so "Jane Doe" + "John Roe" links stay apart.
    return " ".join(pieces)
