"""ingest/fetch/walls.py: bot challenges, consent redirects and consent-only pages, by name.

Each case is a named answer as the service sends it (headers and the start of the body), and
the near misses that must not be taken for a wall: a real page of a protected site carries
the service's sensor script, and a news brief may be about cookies.
"""

from __future__ import annotations

import pytest

from ingest.fetch.walls import bot_wall, consent_page, consent_redirect

JUST_A_MOMENT = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">
<noscript>Enable JavaScript and cookies to continue</noscript></div>
<script>(function(){window._cf_chl_opt={cvId: '3'};}());</script></body></html>"""
ATTENTION = b"""<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>
<body><h1>Sorry, you have been blocked</h1><div class="cf-error-details">Cloudflare Ray ID:
8a1b2c3d4e5f</div></body></html>"""
DATADOME = b"""<html><head><title>example.com</title></head><body style="margin:0">
<p id="cmsg">Please enable JS and disable any ad blocker</p><script>var dd={'rt':'c','cid':
'AHrlqAAAAAMA','hsh':'2211F522B61E269B869FA6EAFFB5E1','s':46743,'host':
'geo.captcha-delivery.com'}</script><script src="https://ct.captcha-delivery.com/c.js">
</script></body></html>"""
PERIMETERX = b"""<html lang="en"><head><title>Access to this page has been denied</title>
<script>window._pxAppId = 'PXu6b0qd2S';</script></head><body><div id="px-captcha"></div>
<p>Press &amp; Hold to confirm you are a human (and not a bot).</p></body></html>"""
AKAMAI = b"""<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>
You don't have permission to access "http&#58;&#47;&#47;www&#46;example&#46;com&#47;news" on
this server.<P>\nReference&#32;&#35;18&#46;2f3c1cb8&#46;1700000000&#46;1a2b3c4d\n<P>
https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;2f3c1cb8</BODY>\n</HTML>"""
INCAPSULA = b"""<html><head><META NAME="robots" CONTENT="noindex,nofollow"></head><body>
<iframe src="/_Incapsula_Resource?CWUDNSAI=23&xinfo=1-2-3">Request unsuccessful. Incapsula
incident ID: 1234-5678</iframe></body></html>"""
REAL_PAGE_OF_A_PROTECTED_SITE = b"""<!doctype html><html><head><title>Harbour reopens</title>
<script src="https://js.datadome.co/tags.js" async></script>
<script>window._pxAppId = 'PXu6b0qd2S';</script>
<script src="//client.perimeterx.net/PXu6b0qd2S/main.min.js"></script>
<script src="/cdn-cgi/scripts/5c5dd728/cloudflare-static/email-decode.min.js"></script>
</head><body><article><h1>Harbour reopens</h1><p>The harbour reopened on Monday.</p>
</article></body></html>"""
# Cloudflare's bot management ("JavaScript detections") loads its challenge platform's script
# into real pages: seen so on two pages of trafilatura's evaluation set.
CLOUDFLARE_JS_DETECTIONS = b"""<!doctype html><html><head><title>Council votes</title>
<script>(function(){var js = "window['__CF$cv$params']={r:'8a1b2c',t:'MTY5'};_cpo.src=
'/cdn-cgi/challenge-platform/scripts/jsd/main.js'";})();</script></head><body><article>
<h1>Council votes</h1><p>The council voted on the budget on Tuesday.</p></article></body></html>"""


@pytest.mark.parametrize(
    ("status", "headers", "body", "wall"),
    [
        pytest.param(
            403, {"cf-mitigated": "challenge"}, b"", "Cloudflare challenge", id="cf-mitigated"
        ),
        pytest.param(
            403, {"server": "cloudflare"}, JUST_A_MOMENT, "Cloudflare challenge", id="just-a-moment"
        ),
        pytest.param(
            503, {"server": "cloudflare"}, JUST_A_MOMENT, "Cloudflare challenge", id="cf-503"
        ),
        pytest.param(
            200, {}, JUST_A_MOMENT, "Cloudflare challenge", id="cf-challenge-served-with-200"
        ),
        pytest.param(403, {"server": "cloudflare"}, ATTENTION, "Cloudflare block", id="cf-block"),
        pytest.param(403, {"x-datadome": "protected"}, b"", "DataDome", id="datadome-header"),
        pytest.param(
            403, {"set-cookie": "datadome=abc; Max-Age=31536000"}, b"", "DataDome", id="dd-cookie"
        ),
        pytest.param(200, {}, DATADOME, "DataDome", id="datadome-captcha-served-with-200"),
        pytest.param(403, {}, PERIMETERX, "PerimeterX (HUMAN) challenge", id="perimeterx"),
        pytest.param(403, {"server": "AkamaiGHost"}, AKAMAI, "Akamai denial", id="akamai"),
        pytest.param(403, {"server": "AkamaiGHost"}, b"", "Akamai denial", id="akamai-header"),
        pytest.param(403, {}, AKAMAI, "Akamai denial", id="akamai-body"),
        pytest.param(
            200,
            {},
            b"<html><script src='/_sec/cp_challenge/ak-challenge-3-3.js'></script></html>",
            "Akamai challenge",
            id="akamai-bot-manager",
        ),
        pytest.param(403, {}, INCAPSULA, "Imperva (Incapsula)", id="incapsula"),
        pytest.param(405, {"x-amzn-waf-action": "captcha"}, b"", "AWS WAF challenge", id="aws-waf"),
        pytest.param(
            403, {}, CLOUDFLARE_JS_DETECTIONS, "Cloudflare challenge", id="cf-platform-on-a-403"
        ),
    ],
)
def test_a_bot_wall_is_named(status: int, headers: dict[str, str], body: bytes, wall: str) -> None:
    assert bot_wall(status, headers, body) == wall


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        pytest.param(200, {}, REAL_PAGE_OF_A_PROTECTED_SITE, id="sensor-scripts-on-a-real-page"),
        pytest.param(200, {}, CLOUDFLARE_JS_DETECTIONS, id="cf-js-detections-on-a-real-page"),
        pytest.param(200, {"server": "cloudflare", "cf-ray": "8a1b"}, b"<p>news</p>", id="cf-cdn"),
        pytest.param(403, {}, b"<h1>Forbidden</h1>", id="plain-403"),
        pytest.param(503, {"server": "nginx"}, b"<h1>Service Unavailable</h1>", id="plain-503"),
        pytest.param(404, {"server": "AkamaiGHost"}, b"Not found", id="akamai-404"),
        pytest.param(
            200,
            {},
            b"<p>Readers asked: is Cloudflare down? Just a moment, we check.</p>",
            id="words",
        ),
    ],
)
def test_no_wall_on_pages_and_plain_errors(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    assert bot_wall(status, headers, body) is None


@pytest.mark.parametrize(
    ("target", "wall"),
    [
        pytest.param(
            "https://consent.google.com/ml?continue=https://news.google.com/x",
            "consent.google.com",
            id="google",
        ),
        pytest.param(
            "https://consent.youtube.com/m?continue=x", "consent.youtube.com", id="youtube"
        ),
        pytest.param(
            "https://guce.yahoo.com/consent?brandType=nonEu", "guce.yahoo.com", id="yahoo-guce"
        ),
        pytest.param(
            "https://myprivacy.dpgmedia.nl/consent?siteKey=x", "myprivacy.dpgmedia.nl", id="dpg"
        ),
        pytest.param(
            "https://www.example.com/privacy-gate?return=/news/a",
            "www.example.com/privacy-gate",
            id="privacy-gate-path",
        ),
        pytest.param(
            "https://www.tumblr.com/privacy/consent?redirect=x",
            "www.tumblr.com/privacy/consent",
            id="consent-path",
        ),
        pytest.param(
            "https://www.example.de/cookiewall/?url=x",
            "www.example.de/cookiewall/",
            id="cookiewall",
        ),
    ],
)
def test_a_redirect_to_a_consent_host_or_path_is_a_consent_wall(target: str, wall: str) -> None:
    assert consent_redirect(target) == wall


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("https://www.example.com/news/2021/09/15/story.html", id="article"),
        pytest.param("https://example.com/news/a?utm_source=rss", id="tracking"),
        pytest.param("https://www.example.com/privacy-policy", id="privacy-policy-page"),
        pytest.param("https://www.example.com/news/consent-decree-signed.html", id="a-word"),
        pytest.param("https://consentino.example.com/news/a", id="host-like"),
    ],
)
def test_an_ordinary_redirect_is_not_a_consent_wall(target: str) -> None:
    assert consent_redirect(target) is None


GOOGLE_BEFORE_YOU_CONTINUE = """<html><head><title>Before you continue to Google</title></head>
<body><h1>Before you continue to Google</h1><p>We use cookies and data to deliver and maintain
Google services, track outages and protect against spam, fraud and abuse, and measure audience
engagement and site statistics. If you choose to Accept all, we will also use cookies and data
to develop and improve new services and deliver and measure the effectiveness of ads. Select
More options to see additional information, including details about managing your privacy
settings.</p><form><button>Reject all</button><button>Accept all</button></form>
<a>More options</a></body></html>"""
TCF_WALL = """<html><head><title>Harbour News</title></head><body><div class="cmp">
<h2>We and our partners process data</h2><p>We and our 842 partners store and/or access
information on a device, such as cookies, and process personal data for personalised ads and
content, ad and content measurement. Some partners rely on legitimate interest; you can object
under Manage options.</p><button>Agree and close</button><button>Manage options</button></div>
</body></html>"""
GERMAN_WALL = """<html><head><title>Datenschutzeinstellungen</title></head><body><p>Wir und
unsere Partner verwenden Cookies und ähnliche Technologien. Mit Ihrer Einwilligung verarbeiten
wir personenbezogene Daten für personalisierte Anzeigen. Datenschutz ist uns wichtig.</p>
<button>Alle akzeptieren</button><button>Einstellungen verwalten</button></body></html>"""
NEWS_BRIEF_ON_COOKIES = """<html><head><title>Regulator fines retailer over cookie banner</title>
</head><body><article><h1>Regulator fines retailer over cookie banner</h1><p>The data
protection authority fined a retailer on Tuesday because its cookie banner made rejecting
harder than accepting. Consent must be as easy to refuse as to give, the regulator said, and
the retailer's partners had received data before visitors decided. The retailer said it would
appeal the decision on privacy grounds and change its banner within a month.</p></article>
</body></html>"""
LONG_ARTICLE_UNDER_A_BANNER = (
    "<html><head><title>Harbour reopens</title></head><body><div id='banner'>We use cookies. "
    "<button>Accept all</button> <a>Privacy</a> consent partners</div><article><h1>Harbour "
    "reopens</h1>"
    + "<p>The harbour reopened on Monday after a week of repairs to the quay wall.</p>" * 40
    + "</article></body></html>"
)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(GOOGLE_BEFORE_YOU_CONTINUE, id="google-before-you-continue"),
        pytest.param(TCF_WALL, id="tcf-agree-and-close"),
        pytest.param(GERMAN_WALL, id="german-datenschutzeinstellungen"),
    ],
)
def test_a_page_that_is_only_a_consent_form_is_a_consent_wall(html: str) -> None:
    assert consent_page(html)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(NEWS_BRIEF_ON_COOKIES, id="news-brief-about-cookies"),
        pytest.param(LONG_ARTICLE_UNDER_A_BANNER, id="long-article-with-cookie-banner"),
        pytest.param("<html><body><p>Short note.</p></body></html>", id="short-page"),
        pytest.param("", id="empty"),
    ],
)
def test_an_article_is_not_a_consent_wall(html: str) -> None:
    assert not consent_page(html)
