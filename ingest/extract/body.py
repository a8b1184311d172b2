"""Find the article's main text in a page and return it as paragraphs.

Scripts and styles are dropped and page furniture (hidden elements, share bars, related lists,
comments...: see ``boilerplate``) is set aside. Then every block with a paragraph of its own
scores its ancestors (readability's heuristic: commas, length, link density), the best
container and its story-like siblings are kept, and the container is widened to the ancestor
holding the rest of the story when the story is split into blocks too far apart for their
scores to meet. The standfirst between headline and container opens the text (``lead``).
Blocks are emitted without link clusters, the headline, a repeated byline, widget labels,
credits and calls to follow (``phrases``), the related-content zone, a heading left
dangling at the end, or a teaser the story's opening repeats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from itertools import islice

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.authors import clean_author_names
from ingest.extract.boilerplate import (
    find_boilerplate,
    is_consent_banner,
    is_hidden,
    name_words,
    remove_silent,
)
from ingest.extract.cjk_credits import is_cjk_by_line
from ingest.extract.dates.datelines import read_date_line
from ingest.extract.document import select
from ingest.extract.lead import find_lead
from ingest.extract.measure import Stats, measure
from ingest.extract.phrases import (
    is_call_to_action,
    is_credit_line,
    is_end_marker,
    is_filing_line,
    is_inline_promo,
    is_widget_label,
)
from ingest.extract.region import same_text, text_key
from ingest.extract.text import (
    BLOCK_TAGS,
    HEADING_TAGS,
    Block,
    iter_blocks,
    text_weight,
    word_set,
    word_shingles,
)

__all__ = ["BodyText", "extract_body"]

_MIN_PARAGRAPH = 25
# A related-content heading ends the story only past this share of the text.
_END_ZONE = 0.4
# Calls to follow or subscribe are cut from the second half of the text.
_CTA_ZONE = 0.5
_MAX_PROMO_CHARS = 150
_MAX_DANGLING_CHARS = 100
# A teaser repeated by the story's opening sits among the first paragraphs, is a sentence or
# more (a shorter line is a subtitle, printed on purpose), and most of its words come again.
_TEASER_ZONE = 3
_TEASER_SHARE = 0.85
_MIN_TEASER_SHINGLES = 12
# Less text than this after setting furniture aside means the furniture rules misfired.
_MIN_STRICT_CHARS = 150
_ANCESTOR_LEVELS = 5
_WIDEN_MIN_PROSE = 200
_MIN_SERIES = 2  # entries of a live blog chosen on their own scores before short ones join
_WIDEN_MIN_GAIN = 0.2
_WIDEN_PROSE_SHARE = 0.6
_WIDEN_LINKS = 0.2
_FULL_WEIGHT_CHARS = 1000
_PARAGRAPH_TAGS = frozenset(("p", "pre", "li", "dd", "dt", "blockquote", "h2", "h3", "h4", "h5"))
_TAG_WEIGHT = {
    "div": 5, "article": 8, "section": 3, "main": 5, "pre": 3, "td": 3, "blockquote": 3,
    "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5,
}  # fmt: skip
_POSITIVE_WORDS = word_set(
    """article articlebody articlecontent articletext body content entry entrycontent hentry
    main maincontent post postbody postcontent text blog story storybody storycontent
    richtext prose"""
)
_NEGATIVE_WORDS = word_set(
    """comment comments meta footer footnote related share social sidebar sponsor widget tags
    tool tools banner combx contact masthead media outbrain promo scroll shoutbox skyscraper
    shopping teaser teasers card cards list listing"""
)
_SENTENCE_TAGS = word_set("p li td dd blockquote")
_CLUSTER_TAGS = frozenset(("ul", "ol", "dl", "div", "section", "table", "nav", "aside", "p"))
_BY_LINE = re.compile(r"^(?:by|von|par|por|door|av)\b", re.IGNORECASE)
# The time at the head of a live blog's update: "10:02", "10.02 Uhr", "9:15 am", "14h32".
_ENTRY_TIME = re.compile(
    r"^\d{1,2}[:.h][0-5]\d(?:\s*(?:uhr|h|am|pm|a\.m\.|p\.m\.))?\s*[|·•–—-]?\s*", re.IGNORECASE
)
_MAX_ENTRY_BY_LINE_CHARS = 80
# Through the attribute axis: much faster in libxml2 than testing every element.
_ARTICLE_BODY = etree.XPath("//@itemprop[.='articleBody']/..")


@dataclass(slots=True)
class BodyText:
    """The main text as paragraphs, with the container it came from."""

    paragraphs: list[str]
    container: HtmlElement | None = None
    furniture: list[tuple[HtmlElement, str]] = field(default_factory=list)  # set aside
    lead: int = 0  # how many paragraphs are the standfirst, read from before the container

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def extract_body(
    root: HtmlElement,
    *,
    headline: HtmlElement | None = None,
    titles: list[str] | None = None,
    authors: list[str] | None = None,
) -> BodyText:
    """Find the main text under ``root`` (scripts and styles are dropped from the tree: read
    metadata first).

    Page furniture is set aside first; when that leaves no real text (a wrapper with an
    unlucky name held the story), the page is read again with nothing set aside.
    """
    remove_silent(root)
    stats = measure(root)
    furniture = find_boilerplate(root, stats, _protected(root, headline))
    body = _read(root, stats, furniture, headline, titles or [], authors or [])
    if text_weight(body.text) < _MIN_STRICT_CHARS:
        banners = _consent_banners(root, headline)
        stats = measure(root, skip=banners)
        lenient = _read(root, stats, banners, headline, titles or [], authors or [])
        if text_weight(lenient.text) >= _MIN_STRICT_CHARS:
            return lenient
    return body


def _consent_banners(root: HtmlElement, headline: HtmlElement | None) -> dict[HtmlElement, str]:
    """Return the cookie and consent banners (outermost), which even a lenient reading
    leaves out: a banner is never the story, however much of a short page it fills."""
    keep = set(headline.iterancestors()) if headline is not None else set()
    banners: dict[HtmlElement, str] = {}
    walker = etree.iterwalk(root, events=("start",))
    for _, element in walker:
        if not isinstance(element.tag, str) or element in keep:
            continue
        if is_consent_banner(name_words(element)):
            banners[element] = "consent"
            walker.skip_subtree()
    return banners


def _read(
    root: HtmlElement,
    stats: dict[HtmlElement, Stats],
    furniture: dict[HtmlElement, str],
    headline: HtmlElement | None,
    titles: list[str],
    authors: list[str],
) -> BodyText:
    containers = _choose_containers(root, stats, furniture)
    skip = partial(_is_skipped, stats=stats, furniture=furniture)
    lead = find_lead(headline, containers[0], stats, skip) if containers else []
    blocks = list(lead)
    for container in containers:
        blocks.extend(iter_blocks(container, skip=skip))
    paragraphs = _clean_blocks(blocks, titles, authors)
    lead_texts = {block.text for block in lead}
    lead_count = next((i for i, p in enumerate(paragraphs) if p not in lead_texts), len(paragraphs))
    return BodyText(
        paragraphs,
        containers[0] if containers else None,
        list(furniture.items()),
        lead=lead_count,
    )


def _is_skipped(
    element: HtmlElement, *, stats: dict[HtmlElement, Stats], furniture: dict[HtmlElement, str]
) -> bool:
    return element in furniture or _is_noise(element, stats)


def _protected(root: HtmlElement, headline: HtmlElement | None) -> set[HtmlElement]:
    """Elements whose removal would take the article with them: the headline's ancestors,
    and those of a visible ``itemprop=articleBody`` (a hidden copy of the story, shown by
    script if ever, is not the story)."""
    keep: set[HtmlElement] = set()
    if headline is not None:
        keep.update([headline, *headline.iterancestors()])
    for anchor in select(_ARTICLE_BODY, root)[:20]:
        lineage = [anchor, *anchor.iterancestors()]
        if not any(is_hidden(node) for node in lineage):
            keep.update(lineage)
    return keep


def _class_weight(element: HtmlElement) -> float:
    words = name_words(element)
    weight = 0.0
    if not _POSITIVE_WORDS.isdisjoint(words):
        weight += 25
    if not _NEGATIVE_WORDS.isdisjoint(words):
        weight -= 25
    if element.get("itemprop") == "articleBody":
        weight += 30
    return weight


def _initial_score(element: HtmlElement, measures: Stats | None) -> float:
    """Tag and class weights, in proportion to how much text the element holds (a 200-char
    box named "page-bottom" must not beat the story)."""
    size = min(1.0, measures.text / _FULL_WEIGHT_CHARS) if measures is not None else 0.0
    return (_TAG_WEIGHT.get(element.tag, 0) + _class_weight(element)) * size


def _score(root: HtmlElement, stats: dict[HtmlElement, Stats]) -> dict[HtmlElement, float]:
    """Give each ancestor of a paragraph a share of the paragraph's content score."""
    scores: dict[HtmlElement, float] = {}
    for element, measures in stats.items():
        if measures.inline < _MIN_PARAGRAPH or element.tag not in BLOCK_TAGS:
            continue
        if element.tag in ("h1", "th", "body", "html"):
            continue  # a headline or a table header is not a paragraph of the story
        link_share = measures.inline_links / measures.inline if measures.inline else 0.0
        content = (1 + measures.commas + min(measures.inline / 100, 3)) * (1 - link_share)
        if content <= 0:
            continue
        start = element if _holds_blocks(element) else element.getparent()
        level = 0
        node = start
        while node is not None and level < _ANCESTOR_LEVELS:
            if node not in scores:
                scores[node] = _initial_score(node, stats.get(node))
            divider = 1 if level == 0 else 2 if level == 1 else level * 3
            scores[node] += content / divider
            node = node.getparent()
            level += 1
    for node in scores:
        measures_of = stats.get(node)
        if measures_of is not None:
            scores[node] *= 1 - measures_of.link_density
    return scores


def _holds_blocks(element: HtmlElement) -> bool:
    """A container with loose text among its blocks scores itself (readability wraps that
    text into paragraphs); a plain paragraph scores its parent."""
    if element.tag in _PARAGRAPH_TAGS:
        return False
    return any(child.tag in BLOCK_TAGS for child in islice(element, 200))


def _choose_containers(
    root: HtmlElement, stats: dict[HtmlElement, Stats], furniture: dict[HtmlElement, str]
) -> list[HtmlElement]:
    scores = _score(root, stats)
    body = root.find("body")
    if not scores:
        return [body if body is not None else root]
    best = max(scores, key=lambda node: scores[node])
    top = _climb(best, scores, body)
    top_score = max(scores.get(top, 0.0), scores[best])
    chosen = _with_siblings(top, top_score, scores, stats, furniture)
    return _widen(chosen, stats)


def _widen(chosen: list[HtmlElement], stats: dict[HtmlElement, Stats]) -> list[HtmlElement]:
    """Climb to the ancestor that holds the rest of the story when the containers hold only
    part of it (a story split into blocks too far apart for their scores to meet): an
    ancestor is taken when what it adds is mostly prose and few links."""
    measured = [stats[c] for c in chosen if c in stats]
    text = sum(m.text for m in measured)
    # Prose in list items (teaser cards, glossaries) does not count: a story goes on in
    # paragraphs.
    prose = sum(m.prose - m.listed for m in measured)
    links = sum(m.links for m in measured)
    widest: HtmlElement | None = None
    node = chosen[0].getparent()
    while node is not None and node.tag != "html":
        measures = stats.get(node)
        if measures is None:
            break
        extra_text = measures.text - text
        extra_prose = measures.prose - measures.listed - prose
        if extra_prose >= max(_WIDEN_MIN_PROSE, _WIDEN_MIN_GAIN * prose):
            extra_links = measures.links - links
            if (
                extra_prose < _WIDEN_PROSE_SHARE * extra_text
                or extra_links > _WIDEN_LINKS * extra_text
            ):
                break
            widest = node
            text, prose, links = measures.text, measures.prose - measures.listed, measures.links
        node = node.getparent()
    return [widest] if widest is not None else chosen


def _climb(
    top: HtmlElement, scores: dict[HtmlElement, float], body: HtmlElement | None
) -> HtmlElement:
    """Move up while a parent scores better, or while the candidate is an only child."""
    last = scores[top]
    threshold = last / 3
    node = top.getparent()
    while node is not None and node is not body and node.tag != "html":
        parent_score = scores.get(node)
        if parent_score is None:
            node = node.getparent()
            continue
        if parent_score < threshold:
            break
        if parent_score > last:
            top = node
            break
        last = parent_score
        node = node.getparent()
    parent = top.getparent()
    while parent is not None and parent is not body and parent.tag != "html" and len(parent) == 1:
        top = parent
        parent = top.getparent()
    return top


def _with_siblings(
    top: HtmlElement,
    top_score: float,
    scores: dict[HtmlElement, float],
    stats: dict[HtmlElement, Stats],
    furniture: dict[HtmlElement, str],
) -> list[HtmlElement]:
    """Add siblings of the container that look like more of the article (readability)."""
    parent = top.getparent()
    if parent is None or top.tag in ("body", "html"):
        return [top]
    threshold = max(10.0, top_score * 0.2)
    top_class = top.get("class")
    chosen: list[HtmlElement] = []
    for sibling in parent:
        if not isinstance(sibling.tag, str) or sibling in furniture:
            continue
        if sibling is top:
            chosen.append(sibling)
            continue
        bonus = top_score * 0.2 if top_class and sibling.get("class") == top_class else 0.0
        score = scores.get(sibling)
        if score is not None and score + bonus >= threshold:
            chosen.append(sibling)
            continue
        measures = stats.get(sibling)
        if _continues_story(sibling, measures, top, stats.get(top)):
            chosen.append(sibling)
            continue
        if sibling.tag == "p" and measures is not None:
            density = measures.link_density
            if (measures.text > 80 and density < 0.25) or (
                0 < measures.text <= 80 and density == 0 and ". " in (sibling.text or "")
            ):
                chosen.append(sibling)
    return _with_entries(chosen, top, stats)


def _with_entries(
    chosen: list[HtmlElement], top: HtmlElement, stats: dict[HtmlElement, Stats]
) -> list[HtmlElement]:
    """When the container is one of a series of entries built and named alike (a live blog's
    updates), add the series' short entries, which score too little on their own ("Good
    morning, welcome to our coverage")."""
    top_class = top.get("class")
    series = [node for node in chosen if node.tag == top.tag and node.get("class") == top_class]
    parent = top.getparent()
    if not top_class or len(series) < _MIN_SERIES or parent is None:
        return chosen
    kept = set(chosen)
    return [
        sibling
        for sibling in parent
        if sibling in kept or _next_entry(sibling, stats.get(sibling), top)
    ]


def _next_entry(sibling: HtmlElement, measures: Stats | None, top: HtmlElement) -> bool:
    """A sibling built and named like the container, with some text and few links."""
    if measures is None or measures.text < _MIN_PARAGRAPH or measures.link_density > 0.25:
        return False
    top_class = top.get("class")
    return bool(top_class) and sibling.tag == top.tag and sibling.get("class") == top_class


def _continues_story(
    sibling: HtmlElement, measures: Stats | None, top: HtmlElement, top_measures: Stats | None
) -> bool:
    """A sibling built like the container and holding real prose is the story's next part
    (stories split around a figure or a pull quote); its paragraphs may sit too deep to
    have scored it."""
    if measures is None or top_measures is None or measures.link_density > 0.25:
        return False
    if measures.prose < 200 or sibling.tag != top.tag:
        return False
    same_class = bool(top.get("class")) and sibling.get("class") == top.get("class")
    return same_class or measures.prose >= 0.3 * top_measures.prose


def _is_noise(element: HtmlElement, stats: dict[HtmlElement, Stats]) -> bool:
    return _is_standalone_time(element) or _is_link_cluster(element, stats)


def _is_standalone_time(element: HtmlElement) -> bool:
    """A <time> standing on its own line is a date line; inside a sentence it is content."""
    if element.tag != "time":
        return False
    for ancestor in islice(element.iterancestors(), 8):
        if ancestor.tag in BLOCK_TAGS:
            return ancestor.tag not in _SENTENCE_TAGS
    return True


def _is_link_cluster(element: HtmlElement, stats: dict[HtmlElement, Stats]) -> bool:
    """Lists and boxes made mostly of links (related stories, tag lists) are not prose."""
    if element.tag not in _CLUSTER_TAGS:
        return False
    measures = stats.get(element)
    if measures is None or measures.text == 0:
        return False
    density = measures.link_density
    if element.tag == "p":
        return density > 0.6
    if not _POSITIVE_WORDS.isdisjoint(name_words(element)):
        return density > 0.6  # "entry-content" of a short post made of links is the post
    return density > 0.5 or (density > 0.33 and measures.text < 500)


def _clean_blocks(blocks: list[Block], titles: list[str], authors: list[str]) -> list[str]:
    """Drop the headline, a repeated byline or date line, widget labels and duplicates, and
    stop at a "Related articles"-style heading in the last part of the text."""
    total = sum(len(block.text) for block in blocks)
    seen = 0
    out: list[tuple[str, str]] = []
    set_aside: list[str] = []
    promo = False
    title_keys = {key for title in titles if (key := text_key(title))}  # once, not per block
    for index, block in enumerate(blocks):
        text = block.text
        seen += len(text)
        if promo and len(text) <= _MAX_PROMO_CHARS:
            promo = False
            continue  # the headline a "Read also" line points to
        promo = is_inline_promo(text)
        if promo or not text or (out and out[-1][0] == text) or is_widget_label(text):
            continue
        late = seen > _CTA_ZONE * total
        if is_credit_line(text) or (late and (is_call_to_action(text) or is_filing_line(text))):
            set_aside.append(text)
            continue
        if seen > _END_ZONE * total and is_end_marker(text):
            break
        # The headline: an h1 near the top, or a block near the top (any h1) saying a title.
        # (No titles, no key: a block may be megabytes long.)
        near = index < 4 or block.tag == "h1"
        is_title = bool(title_keys) and near and text_key(text) in title_keys
        if is_title or (block.tag == "h1" and index < 3):
            continue
        if index < 6 and _is_byline_or_dateline(text, authors):
            continue
        if _is_entry_by_line(text):
            continue  # "10:02 von Jana Roth" heads an update of a live blog
        out.append((text, block.tag))
    while out and _is_dangling(*out[-1]):
        out.pop()
    # A page whose only words are a credit or a filing line keeps them: better than nothing.
    return _without_repeated_teaser(out) or set_aside


def _without_repeated_teaser(blocks: list[tuple[str, str]]) -> list[str]:
    """Drop a teaser printed above the story when the story's opening says it again: each of
    the first paragraphs whose words the next few paragraphs repeat. A heading there is a
    deck or a pull quote, which the page shows on purpose."""
    texts = [text for text, _ in blocks]
    kept: list[str] = []
    for index, (text, tag) in enumerate(blocks):
        following = texts[index + 1 : index + 1 + _TEASER_ZONE]
        if index < _TEASER_ZONE and tag not in HEADING_TAGS and _repeated(text, following):
            continue
        kept.append(text)
    return kept


def _repeated(text: str, following: list[str]) -> bool:
    own = word_shingles(text)
    if len(own) < _MIN_TEASER_SHINGLES or not following:
        return False
    later = set().union(*(word_shingles(other) for other in following))
    return len(own & later) >= _TEASER_SHARE * len(own)


def _is_dangling(text: str, tag: str) -> bool:
    """A heading or a label ("More on this topic:") that ends the text introduces something
    that was left out."""
    if len(text) > _MAX_DANGLING_CHARS:
        return False
    return tag in HEADING_TAGS or text.endswith(":") or is_end_marker(text)


def _is_entry_by_line(text: str) -> bool:
    """A time followed by a by-line ("10:02 Uhr – von Jana Roth", "9.15 am by Liam Carter")."""
    stamp = _ENTRY_TIME.match(text)
    if stamp is None or len(text) > _MAX_ENTRY_BY_LINE_CHARS:
        return False
    rest = text[stamp.end() :]
    return bool(_BY_LINE.match(rest)) and bool(clean_author_names(rest))


def _is_byline_or_dateline(text: str, authors: list[str]) -> bool:
    if len(text) > 150:
        return False
    if _BY_LINE.match(text) or is_cjk_by_line(text):
        if authors:
            return any(author.lower() in text.lower() for author in authors)
        # "By the time the fire was out..." starts a sentence, not a by-line.
        return len(text.split()) <= 12 and bool(clean_author_names(text))
    if authors and any(same_text(text, author) for author in authors):
        return True
    mentions = read_date_line(text)
    if mentions:
        rest = text
        for mention in mentions:
            rest = rest.replace(mention.raw, "")
        return len(rest.split()) <= 4
    return False
