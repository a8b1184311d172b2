"""Recognise page furniture: share bars, newsletter boxes, related lists, comments...

Elements are judged by their tag, ARIA role and the words of their class, id, aria-label and
``data-component``-style names ("article__share-bar" -> article, share, bar, sharebar). Each kind
of furniture has a small named predicate. Setting furniture aside is guarded: an element
holding the headline, the marked article body or most of the page's text or prose is a
mislabelled wrapper, not furniture, and a "small" kind (share bar, caption...) holding a lot of
text is kept too; prose in list items (teaser cards) does not count as the story's. Lines are
judged by their wording in ``phrases``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from itertools import islice, pairwise

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.measure import Stats, forget, measure
from ingest.extract.text import SILENT_TAGS, clean_text, word_set

__all__ = [
    "find_boilerplate",
    "furniture_kind",
    "is_hidden",
    "name_words",
    "remove_silent",
]

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NO_WORDS: frozenset[str] = frozenset()
_NAME_ATTRS = ("class", "id", "data-component", "data-testid", "data-module", "aria-label")
# WordPress taxonomy classes ("category-comment", "tag-social", "post-123") describe the
# post, not the element's role.
_TAXONOMY = re.compile(r"^(?:tag|category|categories|type|status|format|topic)-|^post-\d+$")
# "has-sidebar", "content-with-sidebar", "no-comments": the state of a layout, not furniture.
_STATE_WORDS = word_set("has with w no without and show enable enabled is")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)

_HIDDEN_NAMES = word_set(
    """hidden hide is-hidden u-hidden visually-hidden visuallyhidden sr-only sr-only-focusable
    screen-reader-text screen-reader-only screenreader-only offscreen element-invisible
    invisible show-for-sr a11y-hidden print-only printonly visible-print d-none"""
)
_SHARE = word_set(
    """share shares sharing sharebar sharetools sharelinks shareicons sharebuttons socialshare
    social socials sociallinks socialmedia socialicons addthis sharethis shariff sharer"""
)
_NEWSLETTER = word_set(
    """newsletter newsletters subscribe subscription subscriptions signup optin emailsignup
    mailchimp mc4wp"""
)
_RELATED = word_set(
    """related relatedposts relatedarticles relatedcontent relatedlinks relatedstories
    recommended recommendations recommendation mostread mostpopular mostviewed mostshared
    popular trending morestories morenews morearticles readnext upnext outbrain taboola
    recirc recirculation youmaylike youmightlike suggested seealso alsoread readmore morefrom
    moreon"""
)
_COMMENTS = word_set("comment comments commentlist disqus respond discussion replies")
_CONSENT = word_set(
    "cookie cookies cookiebanner consent gdpr cmp onetrust didomi cookiebot usercentrics"
)
_PAYWALL = word_set("paywall regwall piano meter metered premiumprompt")
_INFOBOX = word_set("infobox infoboxes factbox factboxes infokasten")
_ADS = word_set(
    """ad ads adv advert adverts advertisement advertising advertorial adslot adunit adcontainer
    adwrapper dfp gpt googleads sponsor sponsored sponsors promo promos promoted commercial"""
)
_BREADCRUMB = word_set("breadcrumb breadcrumbs crumbs crumb")
# A picture gallery beside the story: slides, their captions and counters ("3 / 12").
_GALLERY = word_set(
    """gallery galleries photogallery imagegallery slideshow bildergalerie galerie
    fotogalerie diashow galeria fotogaleria galleria"""
)
_CAPTION = word_set(
    """caption captions figcaption credit credits imagecredit photocredit wpcaptiontext
    bildunterschrift bildtext legende legend legenda pie piefoto epigrafe altyazi"""
)
_NAVIGATION = word_set(
    """nav navbar navigation menu menus submenu topbar masthead header footer sidebar rail
    modal popup overlay lightbox skiplink skiplinks"""
)
_FOOTER = word_set("footer pagefooter sitefooter")
_HEADER_ONLY = frozenset(("header",))
_STORY_PARTS = word_set("article entry post story recipe card table item date")
_TOOLS = word_set(
    """pagination pager toolbar tools utility print login signin search skip tags taglist topics"""
)
_ARTICLE_META = word_set(
    """byline bylines author authors contributor authorbio bio aboutauthor meta postmeta
    entrymeta articlemeta date timestamp published updated"""
)
_MAJOR_ROLES = word_set(
    "navigation banner contentinfo complementary search menu menubar toolbar dialog alertdialog"
)
_MAJOR_TAGS = frozenset(("nav", "aside", "footer", "header", "menu", "form"))
_MINOR_TAGS = frozenset(("figcaption",))
_INLINE_HIDDEN_OK = frozenset(("span", "a", "b", "i", "em", "strong", "sup", "sub", "abbr"))

_MAX_STORY_DEPTH = 30
_COPY_SAMPLE = 3  # paragraphs compared to tell a hidden copy from a hidden story
_COPY_MIN_CHARS = 80
_COPY_SCAN = 3000
_NOSCRIPT_PARAGRAPH = 150

# A "small" widget holding more prose than this is a content block with an unlucky name.
_MINOR_MAX_TEXT = 1000
# A "major" region holding more than this share of the page's text is the page itself.
_MAJOR_MAX_SHARE = 0.6
_MAJOR_MAX_PROSE = 0.5  # ... or more than half of its prose (paragraphs that are not links)


def name_words(element: HtmlElement) -> frozenset[str]:
    """Return the words of an element's names, with joined compounds ("most-read" -> mostread)."""
    attrib = element.attrib
    if not attrib:
        return _NO_WORDS
    get = attrib.get
    names = (
        get("class"), get("id"), get("data-component"), get("data-testid"), get("data-module"),
        get("aria-label"),
    )  # fmt: skip
    return _words(names) if any(names) else _NO_WORDS


@lru_cache(maxsize=8192)
def _words(names: tuple[str | None, ...]) -> frozenset[str]:
    """Split name attributes into words (cached: pages repeat their class names a lot)."""
    words: set[str] = set()
    for value in names:
        if not value:
            continue
        for name in _CAMEL.sub(r"\1-\2", value).lower().split():
            if _TAXONOMY.match(name):
                continue
            parts = [part for part in _NON_ALNUM.split(name) if part]
            if not _STATE_WORDS.isdisjoint(parts):
                continue
            words.update(parts)
            if len(parts) > 1:
                words.update(a + b for a, b in pairwise(parts))
                words.add("".join(parts))
    return frozenset(words)


def is_hidden(element: HtmlElement) -> bool:
    """Return True for elements a reader never sees (hidden attribute, display:none...)."""
    attrib = element.attrib
    if not attrib:
        return False
    if "hidden" in attrib:
        return True
    style = attrib.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    if attrib.get("aria-hidden") == "true" and element.tag not in _INLINE_HIDDEN_OK:
        # Inline aria-hidden spans are often drop caps or icons inside real sentences.
        return True
    classes = attrib.get("class")
    return bool(classes) and not _HIDDEN_NAMES.isdisjoint(classes.lower().split())


def is_share_widget(words: frozenset[str]) -> bool:
    return not _SHARE.isdisjoint(words)


def is_newsletter_box(words: frozenset[str]) -> bool:
    return not _NEWSLETTER.isdisjoint(words)


def is_related_list(words: frozenset[str]) -> bool:
    return not _RELATED.isdisjoint(words)


def is_comment_section(words: frozenset[str]) -> bool:
    return not _COMMENTS.isdisjoint(words)


def is_consent_banner(words: frozenset[str]) -> bool:
    return not _CONSENT.isdisjoint(words)


def is_paywall_prompt(words: frozenset[str]) -> bool:
    return not _PAYWALL.isdisjoint(words)


def is_advertisement(words: frozenset[str]) -> bool:
    return not _ADS.isdisjoint(words)


def is_infobox(words: frozenset[str]) -> bool:
    """A fact box beside the story ("infobox", "factbox") about a person or an organisation."""
    return not _INFOBOX.isdisjoint(words)


def is_breadcrumb(words: frozenset[str]) -> bool:
    return not _BREADCRUMB.isdisjoint(words)


def is_gallery(words: frozenset[str]) -> bool:
    return not _GALLERY.isdisjoint(words)


def is_caption(words: frozenset[str]) -> bool:
    return not _CAPTION.isdisjoint(words)


def is_navigation(words: frozenset[str]) -> bool:
    if _only_a_header(words) and not _STORY_PARTS.isdisjoint(words):
        return False  # "article-header", "recipe-header": the story's own header
    return not _NAVIGATION.isdisjoint(words)


def _only_a_header(words: frozenset[str]) -> bool:
    return words & _NAVIGATION == _HEADER_ONLY


def is_footer(words: frozenset[str]) -> bool:
    return not _FOOTER.isdisjoint(words)


def is_page_tool(words: frozenset[str]) -> bool:
    return not _TOOLS.isdisjoint(words)


def is_article_meta(words: frozenset[str]) -> bool:
    return not _ARTICLE_META.isdisjoint(words)


# Regions that can be large (kept only when they hold the page itself) and widgets that are
# small (kept when they hold a lot of prose).
_MAJOR: tuple[tuple[str, Callable[[frozenset[str]], bool]], ...] = (
    ("footer", is_footer),
    ("navigation", is_navigation),
    ("comments", is_comment_section),
    ("related", is_related_list),
    ("consent", is_consent_banner),
)
_MINOR: tuple[tuple[str, Callable[[frozenset[str]], bool]], ...] = (
    ("share", is_share_widget),
    ("newsletter", is_newsletter_box),
    ("paywall", is_paywall_prompt),
    ("ad", is_advertisement),
    ("infobox", is_infobox),
    ("breadcrumb", is_breadcrumb),
    ("caption", is_caption),
    ("gallery", is_gallery),
    ("tools", is_page_tool),
    ("meta", is_article_meta),
)


def furniture_kind(element: HtmlElement, *, headers: bool = False) -> tuple[str, bool] | None:
    """Return ``(kind, is_major)`` when the element looks like page furniture, else None.

    With ``headers``, a block named only as a header ("node-header") inside the article is
    the story's own header: its date and byline count, though its text is not body text.
    """
    tag = element.tag
    if tag in ("html", "body"):
        return None
    if is_hidden(element):
        return "hidden", True
    if tag in _MAJOR_TAGS and not (tag == "header" and _in_story(element)):
        return tag, True
    role = (element.get("role") or "").lower()
    if role in _MAJOR_ROLES:
        return role, True
    if tag in _MINOR_TAGS:
        return "caption", False
    words = name_words(element)
    if not words:
        return None
    major, minor = _kinds_named(words)
    # "node-header" inside the article heads the story: only a small kind counts there.
    story_header = (
        headers and major == "navigation" and _only_a_header(words) and _in_story(element)
    )
    if major is not None and not story_header:
        return major, True
    return (minor, False) if minor is not None else None


@lru_cache(maxsize=8192)
def _kinds_named(words: frozenset[str]) -> tuple[str | None, str | None]:
    """Return the first major and the first minor kind of furniture that ``words`` name.

    Cached: a page asks about the same few class names for many elements, and ``_words``
    hands back the same set each time.
    """
    major = next((kind for kind, predicate in _MAJOR if predicate(words)), None)
    minor = next((kind for kind, predicate in _MINOR if predicate(words)), None)
    return major, minor


def _in_story(element: HtmlElement) -> bool:
    """A <header> inside an <article> or <main> heads the story (headline, standfirst,
    byline), not the page."""
    return any(
        node.tag in ("article", "main") or node.get("role") == "main"
        for node in islice(element.iterancestors(), _MAX_STORY_DEPTH)
    )


def remove_silent(root: HtmlElement) -> None:
    """Drop scripts, styles, embeds and form controls with their content (tails are kept).

    A ``<noscript>`` holding paragraphs is the page as served without script (blog platforms
    render the post there, some sites the whole page): it is unwrapped, not dropped.
    """
    for noscript in list(root.iter("noscript")):
        if noscript.getparent() is not None and _holds_paragraphs(noscript):
            noscript.drop_tag()
    doomed = [el for el in root.iter(*SILENT_TAGS) if el.getparent() is not None]
    for element in doomed:
        element.drop_tree()


def _holds_paragraphs(element: HtmlElement) -> bool:
    return any(
        len(paragraph.text_content()) >= _NOSCRIPT_PARAGRAPH
        for paragraph in islice(element.iter("p"), 50)
    )


def find_boilerplate(
    root: HtmlElement, stats: dict[HtmlElement, Stats], protected: set[HtmlElement]
) -> dict[HtmlElement, str]:
    """Return the furniture under ``root`` (element -> kind), outermost elements only, and
    take it out of ``stats`` so that they describe the page without it. The tree is left
    intact, so a second, more lenient pass can still see everything."""
    body = root.find("body")
    page = stats.get(body) if body is not None else None
    doomed: list[tuple[HtmlElement, str]] = []
    walker = etree.iterwalk(root, events=("start",))
    for _, element in walker:
        if not isinstance(element.tag, str) or element in protected:
            continue
        found = furniture_kind(element)
        if found is None:
            continue
        kind, major = found
        measures = stats.get(element)
        if measures is not None and not _goes(element, root, kind, major, measures, page):
            continue
        doomed.append((element, kind))
        walker.skip_subtree()
    # Updating ancestors costs the flagged elements' depth; on pathological nesting a fresh
    # measurement is cheaper.
    flagged = dict(doomed)
    budget = 4 * len(stats) + 1000
    for element, _ in doomed:
        budget -= forget(stats, element)
        if budget <= 0:
            stats.clear()
            stats.update(measure(root, skip=flagged))
            break
    return flagged


def _goes(
    element: HtmlElement,
    root: HtmlElement,
    kind: str,
    major: bool,
    measures: Stats,
    page: Stats | None,
) -> bool:
    """Tell whether flagged furniture is set aside. A cookie banner goes whatever its share
    of a short page (a wrapper around the whole page would hold the protected headline); a
    large hidden block goes when it copies text shown elsewhere."""
    if kind == "consent" or _removable(measures, major, page):
        return True
    return kind == "hidden" and _copies_visible_text(element, root)


def _copies_visible_text(hidden: HtmlElement, root: HtmlElement) -> bool:
    """Tell whether a large hidden element repeats paragraphs shown elsewhere on the page (a
    print or "read more" copy) rather than holding the story (a paywall hides it whole)."""
    own = [
        clean_text(p.text_content())
        for p in islice(hidden.iter("p"), _COPY_SAMPLE * 4)
        if len(p.text_content()) >= _COPY_MIN_CHARS
    ][:_COPY_SAMPLE]
    if not own:
        return False
    inside = set(hidden.iter("p"))
    shown = {
        clean_text(p.text_content())
        for p in islice(root.iter("p"), _COPY_SCAN)
        if p not in inside and len(p.text_content()) >= _COPY_MIN_CHARS
    }
    return all(text in shown for text in own)


def _removable(measures: Stats, major: bool, page: Stats | None) -> bool:
    if page is None:
        return True
    # Prose in list items is a list of teasers, not a story under an unlucky name.
    own_prose = measures.prose - measures.listed
    holds_prose = own_prose > _MAJOR_MAX_PROSE * page.prose and measures.paragraphs > 1
    if major:
        holds_page = measures.text > _MAJOR_MAX_SHARE * page.text and measures.paragraphs > 0
        return not holds_page and not holds_prose
    small = measures.text <= _MINOR_MAX_TEXT or measures.link_density > 0.5
    return small and not holds_prose
