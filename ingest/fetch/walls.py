"""Bot walls and consent walls: answers that stand in for a page and are never an article.

Three checks, from cheapest to dearest:

* :func:`bot_wall` reads a response's status, headers and the first :data:`HEAD_BYTES` of its
  body for the marks of the common bot-management services: Cloudflare (``cf-mitigated:
  challenge``, "Just a moment...", "Attention Required!"), DataDome (``x-datadome``, its
  captcha-delivery.com captcha), PerimeterX / HUMAN (``px-captcha``, "Press & Hold"), Akamai
  ("Access Denied ... Reference #", ``AkamaiGHost``, its ``_sec/cp_challenge``), and also
  Imperva (Incapsula) and AWS WAF. On a 2xx answer only the marks of a challenge itself
  count: a site behind DataDome or PerimeterX loads their sensor script on every real page.
* :func:`consent_redirect` tells a redirect to a consent host (``consent.google.com``,
  ``guce.yahoo.com``, ``myprivacy.dpgmedia.net``...) or to a consent path, before it is
  followed.
* :func:`consent_page` tells a page that is only a cookie/consent form: short, its text
  about cookies, consent and partners, and either titled so ("Before you continue", "Privacy
  settings") or showing an "Accept all" button. It is asked only about pages whose extracted
  text is short (:data:`CONSENT_MAX_WORDS`), so a long article under a cookie banner never is.

Each returns the name of what blocked the page ("Cloudflare challenge"), used in the message
"blocked by Cloudflare challenge", or None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

__all__ = [
    "CONSENT_MAX_WORDS",
    "CONSENT_WALL",
    "HEAD_BYTES",
    "bot_wall",
    "challenge_page",
    "consent_page",
    "consent_redirect",
    "header_wall",
    "reads_as_consent",
]

#: How much of a body is searched for a wall's marks.
HEAD_BYTES = 64 * 1024
#: A page with more words of text than this is an article, whatever banner it carries.
CONSENT_MAX_WORDS = 400
CONSENT_WALL = "consent wall"

_CLOUDFLARE = "Cloudflare challenge"
_CLOUDFLARE_BLOCK = "Cloudflare block"
_DATADOME = "DataDome"
_PERIMETERX = "PerimeterX (HUMAN) challenge"
_AKAMAI = "Akamai denial"
_AKAMAI_CHALLENGE = "Akamai challenge"
_IMPERVA = "Imperva (Incapsula)"
_AWS_WAF = "AWS WAF challenge"

_DENIED = frozenset({401, 403, 405, 406, 429, 503})

# Marks that only a challenge or denial page carries: they count on any status.
_CHALLENGE_MARKS: tuple[tuple[bytes, str], ...] = (
    (b"<title>just a moment...</title>", _CLOUDFLARE),
    (b"<title>just a moment\xe2\x80\xa6</title>", _CLOUDFLARE),
    (b"window._cf_chl_opt", _CLOUDFLARE),
    (b"cf-browser-verification", _CLOUDFLARE),
    (b"attention required! | cloudflare", _CLOUDFLARE_BLOCK),
    (b"geo.captcha-delivery.com", _DATADOME),
    (b"ct.captcha-delivery.com", _DATADOME),
    (b'id="px-captcha"', _PERIMETERX),
    (b"id='px-captcha'", _PERIMETERX),
    (b"captcha.px-cdn.net", _PERIMETERX),
    (b"press &amp; hold to confirm", _PERIMETERX),
    (b"press & hold to confirm", _PERIMETERX),
    (b"/_sec/cp_challenge/", _AKAMAI_CHALLENGE),
    (b"_incapsula_resource", _IMPERVA),
    (b"incapsula incident id", _IMPERVA),
)
# Marks a real page of a protected site may carry too: they count only on a refusal.
# Cloudflare's bot management loads its challenge platform's scripts into real pages too
# ("JavaScript detections": /cdn-cgi/challenge-platform/scripts/jsd/main.js, .../invisible.js).
_DENIAL_MARKS: tuple[tuple[bytes, str], ...] = (
    (b"/cdn-cgi/challenge-platform/", _CLOUDFLARE),
    (b"cloudflare ray id", _CLOUDFLARE_BLOCK),
    (b"cf-error-details", _CLOUDFLARE_BLOCK),
    (b"datadome", _DATADOME),
    (b"window._pxappid", _PERIMETERX),
    (b"perimeterx", _PERIMETERX),
    (b"errors.edgesuite.net", _AKAMAI),
    (b"you don't have permission to access", _AKAMAI),
    (b"awswaf", _AWS_WAF),
)


def bot_wall(status: int, headers: Mapping[str, str], head: bytes) -> str | None:
    """The bot-management service that answered instead of the page, or None.

    ``headers`` have lower-cased names; ``head`` is the start of the (decoded) body.
    """
    wall = header_wall(headers) or challenge_page(head)
    if wall is not None:
        return wall
    if status not in _DENIED:
        return None
    text = head[:HEAD_BYTES].lower()
    server = headers.get("server", "").lower()
    if "x-datadome" in headers or "x-dd-b" in headers:
        return _DATADOME
    cookies = headers.get("set-cookie", "").lower()
    if "datadome=" in cookies:
        return _DATADOME
    if "x-px-block" in headers or "_px3=" in cookies or "_pxcaptcha" in cookies:
        return _PERIMETERX
    if "akamaighost" in server and status == 403:
        return _AKAMAI
    if "x-iinfo" in headers or "incap_ses" in cookies:
        return _IMPERVA
    for mark, name in _DENIAL_MARKS:
        if mark in text:
            return name
    if "cloudflare" in server and status == 403 and b"cloudflare" in text:
        return _CLOUDFLARE_BLOCK
    return None


def header_wall(headers: Mapping[str, str]) -> str | None:
    """A challenge the response's headers name (any status; ``headers`` lower-cased)."""
    mitigated = headers.get("cf-mitigated", "").strip().lower()
    if mitigated == "challenge":
        return _CLOUDFLARE
    waf_action = headers.get("x-amzn-waf-action", "").strip().lower()
    if waf_action in ("captcha", "challenge"):
        return _AWS_WAF
    return None


def challenge_page(head: bytes) -> str | None:
    """The service whose challenge page ``head`` (the start of a body) is, on any status."""
    text = head[:HEAD_BYTES].lower()
    for mark, name in _CHALLENGE_MARKS:
        if mark in text:
            return name
    return None


# A consent platform's own host: consent.google.com, consent.yahoo.com, guce.yahoo.com,
# myprivacy.dpgmedia.net, cmp.example.org, consent-pref.trustarc.com...
_CONSENT_HOST_LABELS = frozenset(
    {"consent", "consents", "guce", "myprivacy", "cmp", "cookieconsent", "consent-pref"}
)
_CONSENT_PATH = re.compile(
    r"/(?:consent|consents|cookie-?consent|cookie-?wall|cookiewall|privacy-?gate|privacy-?wall"
    r"|collectconsent|consent-?required|gdpr-?consent|user-?consent)(?:[/?.#]|$)",
    re.IGNORECASE,
)


def consent_redirect(target: str) -> str | None:
    """The consent host or path a redirect leads to, or None when it is a page like any other."""
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host.split(".")[0] in _CONSENT_HOST_LABELS:
        return host
    if _CONSENT_PATH.search(parts.path):
        return f"{host}{parts.path}"
    return None


# Words a consent form is made of, in the languages of most consent platforms.
_CONSENT_MARKS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\bcookies?\b|\bcookie-?(?:richtlinie|einstellungen)\b",
        r"\bconsent\b|\beinwilligung|\bconsentement\b|\bconsenso\b|\bconsentimiento\b"
        r"|\btoestemming\b|\bzustimm",
        r"\bpartners?\b|\bpartenaires\b|\bpartnern?\b|\bsocios\b",
        r"\bprivacy\b|\bdatenschutz|\bconfidentialit|\bprivacidad\b|\bprivacyverklaring\b",
        r"\bpersonali[sz]ed (?:ads|advertising|content)\b|\bpersonalisierte\b|\bpersonnalis",
        r"\blegitimate interest|\bberechtigte[sn]? interesse|\bintérêt légitime",
        r"\baccept all\b|\balle akzeptieren\b|\btout accepter\b|\baccetta tutt|\baceptar todo"
        r"|\balles accepteren\b|\bi agree\b|\bagree and (?:continue|close)\b|\breject all\b",
        r"\bmanage (?:options|settings|preferences|cookies)\b|\bmore options\b"
        r"|\bcookie settings\b|\beinstellungen verwalten\b|\bparamétrer\b",
        r"\bstore and/or access information\b|\binformationen auf einem gerät\b",
    )
)
_CONSENT_TITLE = re.compile(
    r"before you continue|privacy (?:settings|choices|preferences|consent|center|centre)"
    r"|cookie (?:consent|settings|preferences|policy)|your privacy|we value your privacy"
    r"|consent|datenschutz|einwilligung|cookie-einstellungen|zustimmung|gestion des cookies"
    r"|vos choix|privacy gate|cookiewall|toestemming|bevor sie fortfahren|avant de continuer",
    re.IGNORECASE,
)
_ACCEPT_BUTTON = re.compile(
    r"^\s*(?:accept(?: all| cookies| all cookies| & close| and close| and continue)?|i accept"
    r"|i agree|agree(?: and (?:continue|close))?|allow all|alle akzeptieren|akzeptieren"
    r"|zustimmen|einverstanden|alle zulassen|tout accepter|accepter(?: et fermer)?|j'accepte"
    r"|accetta(?: tutto)?|aceptar(?: todo)?|alles accepteren|akkoord|ok(?:ay)?, got it|got it)\s*$",
    re.IGNORECASE,
)


def consent_page(html: str, text: str | None = None, title: str | None = None) -> bool:
    """Whether a page whose extracted ``text`` is short is only a cookie/consent form.

    ``text`` is what extraction took from the page (None: the page's visible text). It must
    speak of cookies or consent in at least three of the consent platforms' terms (cookies,
    consent, partners, privacy, personalised ads, legitimate interest, accept all, manage
    options...), densely (one such word in forty), and the page must be titled as a consent
    page or show an accept button. A short news item about cookie rules has the words but
    neither the title nor the button.
    """
    root: lxml.html.HtmlElement | None = None
    if text is None:
        root = _parse(html)
        text = _visible_text(root) if root is not None else ""
    if not reads_as_consent(text):  # most short pages stop here, before any parsing
        return False
    if root is None:
        root = _parse(html)
    page_title = title or ""
    if root is not None:
        page_title = f"{page_title} {root.findtext('.//title') or ''}"
    if _CONSENT_TITLE.search(page_title):
        return True
    return root is not None and _has_accept_button(root)


def reads_as_consent(text: str) -> bool:
    """Short, and made of the consent platforms' words: three kinds of them at least, one of
    them cookies or consent, one word in forty."""
    words = len(text.split())
    if words > CONSENT_MAX_WORDS:
        return False
    found = [pattern for pattern in _CONSENT_MARKS if pattern.search(text)]
    if len(found) < 3 or not (_CONSENT_MARKS[0] in found or _CONSENT_MARKS[1] in found):
        return False
    hits = sum(len(pattern.findall(text)) for pattern in found)
    return hits * 40 >= max(words, 1)


def _parse(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html) if html.strip() else None
    except (etree.LxmlError, ValueError):
        return None


def _visible_text(root: lxml.html.HtmlElement) -> str:
    """The text a reader sees: scripts, styles and templates left out."""
    parts = []
    for node in root.iter():
        if node.tag in ("script", "style", "noscript", "template") or not isinstance(node.tag, str):
            continue
        if node.text:
            parts.append(node.text)
        if node.tail and node.getparent() is not None:
            parts.append(node.tail)
    return " ".join(" ".join(parts).split())


def _has_accept_button(root: lxml.html.HtmlElement) -> bool:
    for element in root.iter("button", "input", "a"):
        label = element.text_content() if element.tag != "input" else element.get("value", "")
        if label and len(label) < 60 and _ACCEPT_BUTTON.match(label):
            return True
    return False
