"""Recognise lines that label, credit or call rather than tell: widget labels ("Share",
"Anzeige"), "Read also" promos, headings that open the related-content zone, picture credits,
calls to follow or subscribe, and the line where a blog files a post.

Lines are compared lower-cased without punctuation, against phrases in the languages
newsflow meets most; the blog platforms' own strings (WordPress, Blogger) are included as
they ship them. The caller decides where in the text each test applies.
"""

from __future__ import annotations

import re

__all__ = [
    "is_call_to_action",
    "is_credit_line",
    "is_end_marker",
    "is_filing_line",
    "is_inline_promo",
    "is_widget_label",
]

# Headings that start the related-content and comment zones after a story, in the languages
# newsflow meets most; compared lower-cased without punctuation.
_END_MARKERS = frozenset(
    (
        "related", "related articles", "related stories", "related posts", "related content",
        "related news", "more from", "more on this story",
        "more stories", "more news", "you may also like", "you might also like",
        "you may be interested in", "recommended", "recommended for you", "most read",
        "most popular", "trending", "trending now", "comments", "leave a comment",
        "leave a reply", "join the conversation", "about the author",
        "das könnte sie auch interessieren", "das könnte dich auch interessieren",
        "das thema könnte dich auch interessieren", "auch interessant", "mehr zum thema",
        "weitere artikel", "ähnliche artikel",
        "ähnliche beiträge", "verwandte artikel", "kommentare", "kommentar schreiben",
        "kommentare schreiben", "empfehlungen", "articles similaires", "sur le même sujet",
        "commentaires", "te puede interesar", "noticias relacionadas", "você pode gostar",
        "comentários", "comentarios", "potrebbe interessarti", "articoli correlati", "commenti",
        "gerelateerde artikelen", "reacties", "комментарии", "related topics",
        "über den autor", "über die autorin", "zum autor", "zur autorin", "verwandte themen",
        "à propos de l auteur", "sobre el autor", "sobre la autora",
    )
)  # fmt: skip
# Lines that announce a link to another story inside the text ("Read also: <headline>").
_INLINE_PROMOS = frozenset(
    (
        "read more", "read also", "also read", "see also", "lesen sie auch", "lesen sie mehr",
        "mehr dazu", "à lire aussi", "lire aussi", "voir aussi", "lee también", "lea también",
        "leia também", "veja também", "leggi anche", "lees ook", "meer over", "читайте также",
    )
)  # fmt: skip
_WIDGET_LABELS = frozenset(
    (
        "advertisement", "advertising", "sponsored", "share", "share this", "share this article",
        "share this story", "like this", "tweet", "print", "email", "gefällt mir", "anzeige",
        "werbung", "teilen", "drucken", "publicité", "partager", "publicidad", "compartir",
        "pubblicità", "condividi", "реклама",
        # Blog platforms' like buttons, comment forms and rating widgets (WordPress's own
        # strings in the languages it ships).
        "loading", "like loading", "gefällt mir lade", "wird geladen", "gefällt mir wird geladen",
        "j aime chargement", "me gusta cargando",
        "mi piace caricamento", "sukai ini", "suka memuat", "teilen mit", "diesen beitrag teilen",
        "kommentar verfassen", "kommentar verfassen antwort abbrechen", "antwort abbrechen",
        "cancel reply", "leave a reply cancel reply", "schreibe einen kommentar",
        "keine kommentare", "no comments", "comments are closed", "kommentare sind geschlossen",
        "kommentieren", "bewerten", "artikel bewerten", "noch keine bewertungen", "rate this",
        "was this article helpful", "war dieser artikel hilfreich", "war der artikel nützlich",
        # Tables of contents, whose links are gone.
        "table of contents", "inhaltsverzeichnis", "sommaire", "índice de contenidos",
    )
)  # fmt: skip
_MAX_MARKER_CHARS = 60
_MAX_CREDIT_CHARS = 200
# A caption ending in its credit: "Roman Prymula, photo: Archives", "Wetterbild (Foto: dpa)".
_CAPTION_CREDIT = re.compile(
    r"[.,|(/–-]\s*(?:photos?|fotos?|bild|image|credits?|picture)\s*:", re.IGNORECASE
)
_MAX_CTA_CHARS = 250
_MAX_FILING_CHARS = 300
# Blog platforms' own phrasing (WordPress, Blogger, Serendipity) in English and German.
_FILING = re.compile(
    r"^(?:filed under|posted in|tagged|tags?:|kategorien?:|schlagw[öo]rter:|permalink)"
    r"|this entry was posted|bookmark the permalink|dieser eintrag wurde veröffentlicht"
    r"|verschlagwortet mit|und abgelegt unter",
    re.IGNORECASE,
)
_CTA_VERB = re.compile(
    r"^\W*(?:click here to |please )?(?:follow|subscribe|sign up|get|download|join|like us"
    r"|support|folgen sie|folgt|folge|abonnieren|abonniere|melden sie sich|melde dich"
    r"|unterstützen sie|unterstütze|síguenos|siguenos|suscríbete|suscribete|únete|suivez"
    r"|abonnez|inscrivez|seguici|iscriviti|siga|assine|inscreva)\b",
    re.IGNORECASE,
)
_CTA_CHANNEL = re.compile(
    r"newsletter|subscri|abonn|\bapps?\b|twitter|facebook|instagram|telegram|whatsapp"
    r"|youtube|tiktok|linkedin|inbox|posteingang|journalism|journalismus|periodismo"
    r"|our work|unsere arbeit",
    re.IGNORECASE,
)
# "Foto: ...", "(Bild: ...)", "Quelle: ...", "Image copyright ...", "（责编：...）", in the
# languages newsflow meets most.
_CREDIT_LABEL = re.compile(
    r"^[(\[（]?\s*(?:(?:photo|image|picture|foto|bild)\s+(?:copyright|credits?)\b"
    r"|(?:fotos?|photos?|bilder|bild|bildquelle|titelbild|beitragsbild|images?|pictures?"
    r"|credits?|copyright|quelle|quellen|textquelle|sources?|fuente|fonte|źródło|crédits?"
    r"|crédito|fot)\s*:"
    # Editors and sources as Chinese, Japanese and Korean pages credit them.
    r"|(?:责编|责任编辑|責編|責任編輯|编辑|編輯|来源|來源|出典|출처)\s*[:：=])",
    re.IGNORECASE,
)
_PHRASE_NOISE = re.compile(r"[^\w\s]+")


def _phrase_key(text: str) -> str:
    return " ".join(_PHRASE_NOISE.sub(" ", text.lower()).split())


def is_end_marker(text: str) -> bool:
    """Return True for a short line that opens what follows a story ("Related articles",
    "Das könnte Sie auch interessieren", "Comments")."""
    return len(text) <= _MAX_MARKER_CHARS and _phrase_key(text) in _END_MARKERS


def is_inline_promo(text: str) -> bool:
    """Return True for a "Read also" line that introduces a link to another story."""
    return len(text) <= _MAX_MARKER_CHARS and _phrase_key(text) in _INLINE_PROMOS


def is_widget_label(text: str) -> bool:
    """Return True for a line that labels a widget rather than saying anything ("Share",
    "Advertisement", "Gefällt mir")."""
    return len(text) <= _MAX_MARKER_CHARS and _phrase_key(text) in _WIDGET_LABELS


def is_credit_line(text: str) -> bool:
    """Return True for a picture credit or source line ("Foto: dpa", "Image copyright Getty
    Images", "Marco Odermatt. © AFP"): short, and labelled as a credit or carrying a ©."""
    if len(text) > _MAX_CREDIT_CHARS:
        return False
    return "©" in text or bool(_CREDIT_LABEL.match(text) or _CAPTION_CREDIT.search(text))


def is_filing_line(text: str) -> bool:
    """Return True for the line where a blog files a post ("Posted in News | Tagged x",
    "Dieser Eintrag wurde veröffentlicht in ... und verschlagwortet mit ...")."""
    return len(text) <= _MAX_FILING_CHARS and bool(_FILING.search(text))


def is_call_to_action(text: str) -> bool:
    """Return True for a line asking the reader to follow, subscribe or support ("Follow us
    on Twitter", "Abonnieren Sie unseren Newsletter"): it opens with such a verb and names a
    channel."""
    if len(text) > _MAX_CTA_CHARS:
        return False
    return bool(_CTA_VERB.match(text)) and bool(_CTA_CHANNEL.search(text))
