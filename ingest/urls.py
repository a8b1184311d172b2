"""Canonical forms of article URLs, so the same article reached two ways has one key.

``canonicalize_url`` applies RFC 3986 §6 normalization (case, percent-encoding, dot segments,
default port) and drops what never identifies a page: the fragment, user credentials, and
tracking parameters. It is idempotent. Anything that is not an absolute http(s) URL raises
``ValueError``: callers decide whether that is a bad config value or a link to skip.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import SplitResult, quote, unquote_plus, urljoin, urlsplit

import tldextract

__all__ = ["canonicalize_url", "host_of", "same_site", "site_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that identify a campaign, a click or a sharer, never the page (compared lower-cased).
# Sources: Firefox query stripping, ClearURLs, and the news sites in our corpus.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "mkt_tok",
        "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
        "ref_src", "ref_url", "cmpid", "ocid", "icid", "ncid", "sr_share", "s_cid", "sc_cid",
        "at_medium", "at_campaign", "wt_mc", "wt.mc_id", "wt_zmc", "__twitter_impression",
        "spm", "share", "smid", "cmp", "xtor", "ito", "rb_clickid", "soc_src", "soc_trk",
        "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "_openstat",
        "fb_action_ids", "fb_action_types", "fb_ref", "fb_source",
        "action_object_map", "action_type_map", "action_ref_map",
        "guccounter", "guce_referrer", "guce_referrer_sig",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_custom")

# RFC 3986 §2.3 unreserved characters are decoded; everything outside the safe set is encoded.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]")
_QUERY_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]")
_HOSTNAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_MAX_HOST_CHARS = 253

# Hosts that give each customer a subdomain of their own but are not (yet) in the Public Suffix
# List's private section: each tenant is its own site, as on github.io or blogspot.com.
_SHARED_HOSTS = (
    "wordpress.com", "substack.com", "tumblr.com", "medium.com", "ghost.io", "weebly.com",
    "livejournal.com", "typepad.com",
)  # fmt: skip
# The PSL snapshot bundled with tldextract, ICANN and private sections; never fetched at run time.
_PSL = tldextract.TLDExtract(
    cache_dir=None,
    suffix_list_urls=(),
    fallback_to_snapshot=True,
    include_psl_private_domains=True,
    extra_suffixes=_SHARED_HOSTS,
)


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Return the canonical form of ``url``, resolved against ``base`` when it is relative.

    Lower-cases scheme and host, IDNA-encodes the host, drops the default port, credentials,
    fragment and tracking parameters, sorts the remaining query parameters (stable, blank
    values kept), normalizes percent-encoding and dot segments, and makes an empty path "/".

    Raises ``ValueError`` when the result is not an absolute http(s) URL with a valid host.
    """
    parts = _split(url, base)
    host = _canonical_host(parts)
    port = _port(parts)
    netloc = host if port is None or port == _DEFAULT_PORTS[parts.scheme] else f"{host}:{port}"
    path = _remove_dot_segments(_normalize_escapes(parts.path, _PATH_ESCAPE)) or "/"
    query = _canonical_query(parts.query)
    return f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def host_of(url: str) -> str:
    """Return the canonical host of ``url`` (lower-case ASCII, no port, IPv6 without brackets).

    Raises ``ValueError`` like ``canonicalize_url``.
    """
    return _canonical_host(_split(url, None)).strip("[]")


def site_of(url: str) -> str:
    """Return the site ``url`` belongs to: its registrable domain under the Public Suffix List.

    ``news.bbc.co.uk`` -> ``bbc.co.uk``; ``alice.github.io`` -> ``alice.github.io`` (github.io
    is a private suffix: each tenant is a site). An IP address is its own site; a host under no
    known suffix (``localhost``, ``news.test``) is known by its last two labels. Raises
    ``ValueError`` like ``canonicalize_url``.
    """
    return _site(host_of(url))


def same_site(a: str, b: str) -> bool:
    """Tell whether two URLs belong to the same site (see :func:`site_of`)."""
    return site_of(a) == site_of(b)


def _split(url: str, base: str | None) -> SplitResult:
    text = re.sub(r"[\t\r\n]", "", url).strip()
    if base is not None:
        text = urljoin(re.sub(r"[\t\r\n]", "", base).strip(), text)
    try:
        text.encode("utf-8")
        parts = urlsplit(text)
    except ValueError as exc:  # UnicodeEncodeError (lone surrogate), bad IPv6 brackets
        raise ValueError(f"not a valid URL: {text[:200]!r} ({exc})") from exc
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError(f"not an absolute http(s) URL: {text[:200]!r}")
    return parts


def _canonical_host(parts: SplitResult) -> str:
    hostname = parts.hostname or ""
    if "[" in parts.netloc:
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError as exc:
            raise ValueError(f"not a valid IPv6 host in URL: {parts.netloc[:200]!r}") from exc
    host = hostname.rstrip(".")  # "example.com." names the same host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"not a valid host name in URL: {hostname[:200]!r}") from exc
    if "\\" in parts.netloc or len(host) > _MAX_HOST_CHARS or not _HOSTNAME.fullmatch(host):
        raise ValueError(f"not a valid host name in URL: {hostname[:200]!r}")
    return host


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid port in URL: {parts.netloc[:200]!r}") from exc


def _normalize_escapes(text: str, pattern: re.Pattern[str]) -> str:
    """Upper-case percent escapes, decode unreserved ones, encode unsafe characters as UTF-8."""
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    token = match.group()
    if len(token) == 3:  # an escape "%xx"
        char = chr(int(token[1:], 16))
        return char if char in _UNRESERVED else token.upper()
    return quote(token, safe="")


def _remove_dot_segments(path: str) -> str:
    """Resolve "." and ".." segments (RFC 3986 §5.2.4) in an absolute path."""
    if not path:
        return path
    segments = path.split("/")[1:]
    output: list[str] = []
    for segment in segments:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if segments[-1] in (".", ".."):
        output.append("")  # "/a/b/.." names the directory "/a/"
    return "/" + "/".join(output)


def _canonical_query(query: str) -> str:
    kept = [
        _normalize_escapes(item, _QUERY_ESCAPE)
        for item in query.split("&")
        if item and not _is_tracking(item.partition("=")[0])
    ]
    # Sorting by name only keeps repeated names in their original (meaningful) order.
    kept.sort(key=lambda item: item.partition("=")[0])
    return "&".join(kept)


def _is_tracking(name: str) -> bool:
    key = unquote_plus(name).strip().lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


@lru_cache(maxsize=4096)
def _site(host: str) -> str:
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    parts = _PSL.extract_str(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    if parts.suffix:  # the host is itself a public suffix (github.io)
        return parts.suffix
    return ".".join(host.split(".")[-2:])
