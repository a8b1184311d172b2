"""Guess the time zone a page writes its local times in, from its country's domain, else
from its language.

Used only for a time that names no zone when no other date on the page carries an offset:
"16.05.2023, 08:15 Uhr" on a ``.de`` site is Berlin time, not UTC. Only countries that keep
a single zone across their territory (or nearly all of their population) are listed;
``.com``, ``.us``, ``.ru``, ``.br``, ``.ca``, ``.au``, ``.mx`` say nothing. A ``.com`` site
writing in German, Japanese or Polish is read in that language's zone: only languages spoken
almost entirely within one UTC offset are listed (not English, Spanish, French, Portuguese,
Arabic or Russian), and a region subtag is not trusted: a Colombian site declares "es-ES".
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.extract.lang import normalize_language

__all__ = ["zone_of_language", "zone_of_page", "zone_of_url"]

_COUNTRY_ZONES = {
    # Europe
    "de": "Europe/Berlin", "at": "Europe/Vienna", "ch": "Europe/Zurich", "li": "Europe/Vaduz",
    "fr": "Europe/Paris", "be": "Europe/Brussels", "lu": "Europe/Luxembourg",
    "nl": "Europe/Amsterdam", "it": "Europe/Rome", "es": "Europe/Madrid", "pt": "Europe/Lisbon",
    "uk": "Europe/London", "ie": "Europe/Dublin", "dk": "Europe/Copenhagen",
    "se": "Europe/Stockholm", "no": "Europe/Oslo", "fi": "Europe/Helsinki",
    "is": "Atlantic/Reykjavik", "ee": "Europe/Tallinn", "lv": "Europe/Riga",
    "lt": "Europe/Vilnius", "pl": "Europe/Warsaw", "cz": "Europe/Prague",
    "sk": "Europe/Bratislava", "hu": "Europe/Budapest", "si": "Europe/Ljubljana",
    "hr": "Europe/Zagreb", "ba": "Europe/Sarajevo", "rs": "Europe/Belgrade",
    "me": "Europe/Podgorica", "mk": "Europe/Skopje", "al": "Europe/Tirane",
    "gr": "Europe/Athens", "bg": "Europe/Sofia", "ro": "Europe/Bucharest",
    "md": "Europe/Chisinau", "ua": "Europe/Kyiv", "by": "Europe/Minsk", "tr": "Europe/Istanbul",
    "cy": "Asia/Nicosia", "mt": "Europe/Malta",
    # Middle East and Africa
    "il": "Asia/Jerusalem", "lb": "Asia/Beirut", "jo": "Asia/Amman", "sa": "Asia/Riyadh",
    "ae": "Asia/Dubai", "qa": "Asia/Qatar", "kw": "Asia/Kuwait", "bh": "Asia/Bahrain",
    "om": "Asia/Muscat", "ir": "Asia/Tehran", "iq": "Asia/Baghdad", "eg": "Africa/Cairo",
    "ma": "Africa/Casablanca", "dz": "Africa/Algiers", "tn": "Africa/Tunis",
    "ng": "Africa/Lagos", "gh": "Africa/Accra", "ke": "Africa/Nairobi",
    "et": "Africa/Addis_Ababa", "tz": "Africa/Dar_es_Salaam", "ug": "Africa/Kampala",
    "za": "Africa/Johannesburg", "sn": "Africa/Dakar",
    # Asia and the Pacific
    "in": "Asia/Kolkata", "pk": "Asia/Karachi", "bd": "Asia/Dhaka", "lk": "Asia/Colombo",
    "np": "Asia/Kathmandu", "jp": "Asia/Tokyo", "kr": "Asia/Seoul", "cn": "Asia/Shanghai",
    "tw": "Asia/Taipei", "hk": "Asia/Hong_Kong", "sg": "Asia/Singapore",
    "my": "Asia/Kuala_Lumpur", "th": "Asia/Bangkok", "vn": "Asia/Ho_Chi_Minh",
    "ph": "Asia/Manila", "nz": "Pacific/Auckland",
    # Latin America and the Caribbean
    "ar": "America/Argentina/Buenos_Aires", "cl": "America/Santiago", "co": "America/Bogota",
    "pe": "America/Lima", "ve": "America/Caracas", "uy": "America/Montevideo",
    "py": "America/Asuncion", "bo": "America/La_Paz", "cu": "America/Havana",
    "jm": "America/Jamaica", "gt": "America/Guatemala", "hn": "America/Tegucigalpa",
    "sv": "America/El_Salvador", "ni": "America/Managua", "cr": "America/Costa_Rica",
    "pa": "America/Panama", "do": "America/Santo_Domingo", "pr": "America/Puerto_Rico",
    "tt": "America/Port_of_Spain", "bb": "America/Barbados", "bs": "America/Nassau",
}  # fmt: skip
# Languages whose writers live almost all within one UTC offset, and the country naming it.
_LANGUAGE_COUNTRIES = {
    "de": "de", "it": "it", "nl": "nl", "pl": "pl", "cs": "cz", "sk": "sk", "hu": "hu",
    "sl": "si", "hr": "hr", "sr": "rs", "bs": "ba", "mk": "mk", "sq": "al", "da": "dk",
    "sv": "se", "nb": "no", "nn": "no", "no": "no", "fi": "fi", "et": "ee", "lv": "lv",
    "lt": "lt", "el": "gr", "bg": "bg", "ro": "ro", "uk": "ua", "be": "by", "tr": "tr",
    "he": "il", "fa": "ir", "ja": "jp", "ko": "kr", "zh": "cn", "th": "th", "vi": "vn",
    "hi": "in", "mr": "in", "ta": "in", "te": "in", "gu": "in", "kn": "in", "ml": "in",
    "ur": "pk", "ms": "my", "is": "is",
}  # fmt: skip


def zone_of_page(url: str, languages: list[str]) -> ZoneInfo | None:
    """Return the zone of the URL's country, else of the first of the page's declared
    languages that points to one."""
    by_url = zone_of_url(url)
    if by_url is not None:
        return by_url
    return next((zone for tag in languages if (zone := zone_of_language(tag))), None)


def zone_of_language(tag: str) -> ZoneInfo | None:
    """Return the zone a language tag points to ("de", "ja-JP"), when one does. The region
    subtag is ignored: templates default to "es-ES" or "en-US" wherever the site is."""
    language = normalize_language(tag)
    country = _LANGUAGE_COUNTRIES.get(language) if language is not None else None
    return _zone(country) if country is not None else None


def zone_of_url(url: str) -> ZoneInfo | None:
    """Return the zone of the country a URL's domain names, when it has a single one."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if "." not in host:
        return None
    return _zone(host.rsplit(".", 1)[1].lower())


@cache
def _zone(country: str) -> ZoneInfo | None:
    name = _COUNTRY_ZONES.get(country)
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # a system without that zone's data: read as UTC
        return None
