"""decode_html: BOM, HTTP charset, <meta> charset, detection, and WHATWG label mapping."""

from __future__ import annotations

import codecs

import pytest

from ingest.fetch.decode import decode_html

ARABIC = "افتتحت البلدية مكتبة عامة جديدة في وسط المدينة تضم أكثر من مئة ألف كتاب."
RUSSIAN = "В Новосибирске в среду торжественно открыли новый мост через Обь."
POLISH = "Zażółć gęślą jaźń. Źródło: Gazeta Łódzka, wtorek."
JAPANESE = "東京都は新しい図書館を来月開館すると発表した。"
FRENCH = (
    "Le café crème et la crème brûlée sont servis à côté de la gare. "
    "Les élèves préférés du maître ont reçu un prix très spécial à Noël. "
) * 4


def page(head: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"
    )


CASES = [
    pytest.param(
        codecs.BOM_UTF8 + page("", "café").encode("utf-8"),
        "text/html; charset=windows-1252",
        "café",
        "utf-8",
        id="utf8-bom-beats-header",
    ),
    pytest.param(
        codecs.BOM_UTF16_LE + page("", "café").encode("utf-16-le"),
        None,
        "café",
        "utf-16-le",
        id="utf16le-bom",
    ),
    pytest.param(
        codecs.BOM_UTF16_BE + page("", "café").encode("utf-16-be"),
        None,
        "café",
        "utf-16-be",
        id="utf16be-bom",
    ),
    pytest.param(
        codecs.BOM_UTF32_LE + page("", "café").encode("utf-32-le"),
        None,
        "café",
        "utf-32-le",  # its BOM starts with UTF-16 LE's
        id="utf32le-bom",
    ),
    pytest.param(
        page("", RUSSIAN).encode("cp1251"),
        "text/html; charset=windows-1251",
        RUSSIAN,
        "cp1251",
        id="header-charset",
    ),
    pytest.param(
        page("", POLISH).encode("iso-8859-2"),
        'text/html; charset="ISO-8859-2"',
        POLISH,
        "iso8859-2",
        id="header-charset-quoted",
    ),
    pytest.param(
        page(
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">', ARABIC
        ).encode("cp1256"),
        "text/html",
        ARABIC,
        "cp1256",
        id="meta-http-equiv-cp1256",
    ),
    pytest.param(
        page('<meta charset="windows-1251">', RUSSIAN).encode("cp1251"),
        None,
        RUSSIAN,
        "cp1251",
        id="meta-charset-cp1251",
    ),
    pytest.param(
        page("<meta charset='iso-8859-2' />", POLISH).encode("iso-8859-2"),
        None,
        POLISH,
        "iso8859-2",
        id="meta-charset-iso-8859-2",
    ),
    pytest.param(
        page(
            '<META HTTP-EQUIV="content-type" CONTENT="text/html;charset=Shift_JIS">', JAPANESE
        ).encode("shift_jis"),
        None,
        JAPANESE,
        "cp932",  # WHATWG: shift_jis means windows-31j
        id="meta-shift-jis",
    ),
    pytest.param(
        page('<meta charset="iso-8859-1">', "“smart” quotes").encode("cp1252"),
        None,
        "“smart” quotes",
        "cp1252",  # WHATWG: iso-8859-1 means windows-1252
        id="iso-8859-1-is-windows-1252",
    ),
    pytest.param(
        page("", "plain ascii").encode("ascii"),
        "text/html; charset=us-ascii",
        "plain ascii",
        "cp1252",
        id="us-ascii-is-windows-1252",
    ),
    pytest.param(
        page("", FRENCH).encode("cp1252"),
        "text/html; charset=utf-8",
        FRENCH,
        None,  # the label lied; detection picks a codec that reads the bytes right
        id="wrong-header-utf8-on-cp1252-bytes",
    ),
    pytest.param(
        page('<meta charset="utf-8">', "Zürich – naïve café").encode("utf-8"),
        "text/html; charset=ISO-8859-1",
        "Zürich – naïve café",
        "utf-8",
        id="server-default-latin1-on-utf8-page",
    ),
    pytest.param(
        page('<meta charset="utf-8">', "Zürich").encode("utf-8"),
        "text/html; charset=x-no-such-charset",
        "Zürich",
        "utf-8",
        id="unknown-header-label-falls-to-meta",
    ),
    pytest.param(
        b'<?xml version="1.0" encoding="windows-1251"?>' + page("", RUSSIAN).encode("cp1251"),
        None,
        RUSSIAN,
        "cp1251",
        id="xml-declaration",
    ),
    pytest.param(
        page('<meta charset="utf-16">', "naïve").encode("utf-8"),
        None,
        "naïve",
        "utf-8",  # UTF-16 without a BOM cannot be what the ASCII-compatible bytes are
        id="meta-utf16-without-bom",
    ),
    pytest.param(
        page("", RUSSIAN * 5).encode("cp1251"),
        None,
        RUSSIAN * 5,
        None,
        id="undeclared-cp1251-detected",
    ),
    pytest.param(page("", "ascii only").encode(), None, "ascii only", "utf-8", id="ascii"),
    # Declarations bs4's EncodingDetector.find_declared_encoding misreads, so decode.py keeps its
    # own scan. ASCII bytes: only a label that was read can make the codec anything but UTF-8.
    pytest.param(
        b'<?xml version="1.0" encoding = "windows-1251"?>' + page("", "news").encode(),
        None,
        "news",
        "cp1251",
        id="xml-declaration-spaces-around-equals",
    ),
    pytest.param(
        b'<?xml version="1.0"\n      encoding="windows-1251"?>' + page("", "news").encode(),
        None,
        "news",
        "cp1251",
        id="xml-declaration-over-two-lines",
    ),
    pytest.param(
        page('<meta charset=" windows-1251">', "news").encode(),
        None,
        "news",
        "cp1251",
        id="meta-charset-space-inside-quotes",
    ),
    pytest.param(
        page(
            '<meta charset=""><meta http-equiv="Content-Type" content="text/html; charset=cp1251">',
            "news",
        ).encode(),
        None,
        "news",
        "cp1251",
        id="empty-meta-charset-then-a-real-one",
    ),
    pytest.param(
        page('<metadata charset="windows-1251">', "news").encode(),
        None,
        "news",
        "utf-8",
        id="metadata-element-is-no-meta-tag",
    ),
]


@pytest.mark.parametrize(("body", "content_type", "expected", "encoding"), CASES)
def test_decode_html(
    body: bytes, content_type: str | None, expected: str, encoding: str | None
) -> None:
    text, used = decode_html(body, content_type)
    assert expected in text
    assert "\ufffd" not in text
    if encoding is not None:
        assert used == encoding


def test_meta_after_the_first_4_kib_is_not_read() -> None:
    filler = "<!-- " + "x" * 5000 + " -->"
    body = page(filler + '<meta charset="koi8-r">', "naïve café").encode("utf-8")
    assert decode_html(body) == (body.decode("utf-8"), "utf-8")


def test_undecodable_bytes_still_give_text() -> None:
    text, _ = decode_html(b"<p>\xff\xfe\x00\x81\x8d broken \xc3</p>", "text/html; charset=utf-8")
    assert "broken" in text
