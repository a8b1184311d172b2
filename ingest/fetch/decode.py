"""Turn the bytes of an HTML page into text, finding the charset the way browsers do.

Order of evidence: byte-order mark, the HTTP ``Content-Type`` charset, a ``<meta charset>`` or
``<meta http-equiv="Content-Type">`` (or XML declaration) in the first 4 KiB, then statistical
detection (charset-normalizer), then UTF-8 with replacement characters. A declaration is only
trusted when the bytes are valid in it; labels are mapped as the WHATWG Encoding Standard says
(``iso-8859-1`` and ``us-ascii`` mean windows-1252, ``shift_jis`` means windows-31j...).

beautifulsoup4's ``EncodingDetector`` finds the byte-order mark. The rest stays here because
bs4 would change results (each case is in ``tests/ingest/test_decode.py``):

- its ``find_declared_encoding`` reads declarations with two regular expressions that miss
  ``encoding = "..."`` and an XML declaration over two lines (both valid XML), a charset
  written with a space inside its quotes, and a ``<meta charset="">`` followed by a real one
  (the WHATWG prescan trims the label and goes on to the next tag), and it takes
  ``<metadata charset=...>`` for a meta tag;
- ``UnicodeDammit`` has no WHATWG label mapping (an ``iso-8859-1`` page's smart quotes would
  decode to C1 control characters, which bs4 can only turn into entities with
  ``smart_quotes_to``), accepts a legacy label on bytes that are valid multi-byte UTF-8, and
  detects with the one guess of whichever detector is installed (cchardet, chardet or
  charset-normalizer) instead of breaking near-ties by how much the web uses each charset.
"""

from __future__ import annotations

import codecs
import re

from bs4.dammit import EncodingDetector
from charset_normalizer import from_bytes

__all__ = ["decode_html"]

_PRESCAN_BYTES = 4096
# Detection reads a prefix only: enough for a verdict, bounded on multi-megabyte pages.
_DETECT_BYTES = 64 * 1024

_CHAOS_TOLERANCE = 0.02
# Rough order of use on the web (W3Techs), to break ties between equally plausible guesses.
_WEB_RANK = {
    name: rank
    for rank, name in enumerate(
        (
            "utf-8", "cp1252", "cp1251", "cp932", "euc_jp", "gb18030", "cp949", "cp1250",
            "iso8859-2", "big5hkscs", "cp1256", "cp1254", "cp1253", "iso8859-7", "iso8859-15",
            "cp874", "koi8-r", "cp1255", "cp1257", "cp1258", "koi8-u", "iso8859-5",
        )
    )
}  # fmt: skip

# WHATWG Encoding Standard: labels whose real-world meaning is a superset codec.
_WHATWG_SUPERSETS = {
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
}
# Labels Python does not know under these spellings.
_ALIASES = {
    "x-sjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "windows-31j": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "x-cp1251": "cp1251",
    "x-cp1250": "cp1250",
    "x-user-defined": "cp1252",
    "utf8mb4": "utf-8",
    "unicode": "utf-8",
}

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
_META_TAG = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_XML_DECL = re.compile(
    rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9_.:+-]+)""", re.IGNORECASE
)


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return ``(text, encoding)`` for an HTML body, ``encoding`` being Python's codec name."""
    data, bom_encoding = EncodingDetector.strip_byte_order_mark(body)
    if bom_encoding is not None:
        encoding = codecs.lookup(bom_encoding).name  # "utf-16le" -> "utf-16-le"
        return data.decode(encoding, errors="replace"), encoding
    for label in (_header_charset(content_type), _declared_charset(body[:_PRESCAN_BYTES])):
        declared = _normalize_label(label)
        if declared is None:
            continue
        text = _decode_strict(body, declared)
        if text is not None:
            return text, declared
    return _detect(body)


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type.encode("latin-1", errors="replace"))
    return match.group(1).decode("ascii") if match else None


def _declared_charset(head: bytes) -> str | None:
    """Find the charset a page declares in its first bytes (meta tag or XML declaration)."""
    xml = _XML_DECL.match(head)
    if xml:
        return xml.group(1).decode("ascii")
    for tag in _META_TAG.finditer(head):
        match = _CHARSET_PARAM.search(tag.group(0))
        if match:
            return match.group(1).decode("ascii")
    return None


def _normalize_label(label: str | None) -> str | None:
    """Map a charset label to the Python codec a browser would effectively use, or None."""
    if not label:
        return None
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A page served as bytes cannot really be UTF-16 without a BOM; browsers read it as UTF-8.
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return _WHATWG_SUPERSETS.get(name, name)


def _decode_strict(body: bytes, encoding: str) -> str | None:
    """Decode with ``encoding`` if the bytes are valid in it and it is plausibly right."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    if encoding != "utf-8" and _is_multibyte_utf8(body):
        # Single-byte legacy charsets accept any bytes, so a wrong label (a server default of
        # iso-8859-1 on a UTF-8 page) cannot fail; valid multi-byte UTF-8 is never an accident.
        return None
    return text


def _is_multibyte_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> tuple[str, str]:
    """Guess the charset statistically; fall back to UTF-8 with replacement characters."""
    if body.isascii() or _is_multibyte_utf8(body):
        return body.decode("utf-8"), "utf-8"
    encoding = _most_likely(body[:_DETECT_BYTES])
    if encoding is None:
        return body.decode("utf-8", errors="replace"), "utf-8"
    return body.decode(encoding, errors="replace"), encoding


def _most_likely(sample: bytes) -> str | None:
    """Pick among the detector's near-equal guesses the charset most used on the web.

    charset-normalizer rates mac_cyrillic level with windows-1251 and windows-1250 with
    windows-1252 on short texts; web pages almost never use the former.
    """
    matches = list(from_bytes(sample))
    if not matches:
        return None
    least_chaos = min(match.chaos for match in matches)
    close = [match for match in matches if match.chaos <= least_chaos + _CHAOS_TOLERANCE]
    names = [name for match in close if (name := _normalize_label(match.encoding))]
    if not names:
        return None
    return min(names, key=lambda name: _WEB_RANK.get(name, len(_WEB_RANK)))
