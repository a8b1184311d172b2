"""Read the list of feeds to ingest from a TOML file (or an OPML export of a feed reader).

feeds.toml holds only ``[[feeds]]`` tables::

    [[feeds]]
    url = "https://www.example.com/rss.xml"   # required, http or https
    name = "Example News"                      # optional
    tags = ["world", "politics"]               # optional
    enabled = false                            # optional, default true
    obey_robots = false                        # optional, default true: only for sites you
                                               # own or may crawl (docs/politeness.md)

Every mistake raises ``ConfigError`` naming the file, the line and the reason, because the
person reading it has the file open in an editor.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import lxml.etree

from ingest.errors import ConfigError
from ingest.model import FeedSource
from ingest.urls import canonicalize_url

__all__ = ["load_feeds"]

_ALLOWED_KEYS = ("url", "name", "tags", "enabled", "obey_robots")
_TABLE_HEADER = re.compile(r"\s*\[\[\s*(\"?)feeds\1\s*\]\]")
_ANY_HEADER = re.compile(r"\s*\[")
_TOML_LINE = re.compile(r"at line (\d+)")
_CATEGORY_SEPARATORS = re.compile(r"[,/]")
_TOML_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def load_feeds(path: Path) -> list[FeedSource]:
    """Return the feeds configured in ``path`` (TOML, or OPML when it ends in ``.opml``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"feeds file not found: {path}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read feeds file {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".opml":
        return _OpmlReader(path).read(data)
    return _TomlReader(path).read(data)


class _TomlReader:
    """Validate a feeds.toml document, finding line numbers by scanning its text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def read(self, data: bytes) -> list[FeedSource]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(f"{self.path}:{line}: the file is not UTF-8 text") from exc
        self.lines = text.splitlines()
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else max(len(self.lines), 1)
            raise ConfigError(f"{self.path}:{line}: invalid TOML: {exc}") from exc
        except RecursionError as exc:  # arrays nested thousands deep
            raise ConfigError(f"{self.path}:1: invalid TOML: nested too deeply") from exc
        for key in document:
            if key != "feeds":
                raise self._error(
                    self._top_level_line(key),
                    f"unknown top-level key '{key}' (only [[feeds]] tables are allowed)",
                )
        tables = document.get("feeds", [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self._error(self._top_level_line("feeds"), "'feeds' must be [[feeds]] tables")
        feeds: list[FeedSource] = []
        first_seen: dict[str, int] = {}
        for number, table in enumerate(tables, start=1):
            feed = self._feed(table, number)
            key = canonicalize_url(feed.url)
            if key in first_seen:
                raise self._error(
                    self._key_line(number, "url"),
                    f"duplicate url '{feed.url}' in [[feeds]] #{number} "
                    f"(already in [[feeds]] #{first_seen[key]} at line "
                    f"{self._table_line(first_seen[key])})",
                )
            first_seen[key] = number
            feeds.append(feed)
        return feeds

    def _feed(self, table: dict[str, Any], number: int) -> FeedSource:
        where = f"[[feeds]] #{number}"
        for key in table:
            if key not in _ALLOWED_KEYS:
                raise self._error(
                    self._key_line(number, key),
                    f"unknown key '{key}' in {where} (allowed: {', '.join(_ALLOWED_KEYS)})",
                )
        if "url" not in table:
            raise self._error(self._table_line(number), f"{where} has no 'url'")
        url = self._typed(table, "url", str, number)
        try:
            canonicalize_url(url)
        except ValueError as exc:
            raise self._error(
                self._key_line(number, "url"), f"'url' in {where} is not an http(s) URL: {url!r}"
            ) from exc
        name = self._typed(table, "name", str, number) if "name" in table else None
        tags = self._typed(table, "tags", list, number) if "tags" in table else []
        if not all(isinstance(tag, str) for tag in tags):
            raise self._error(
                self._key_line(number, "tags"), f"'tags' in {where} must be a list of strings"
            )
        enabled = self._typed(table, "enabled", bool, number) if "enabled" in table else True
        obey = self._typed(table, "obey_robots", bool, number) if "obey_robots" in table else True
        return FeedSource(
            url=url.strip(),
            name=(name or "").strip() or None,
            tags=tuple(dict.fromkeys(tag.strip() for tag in tags if tag.strip())),
            enabled=enabled,
            obey_robots=obey,
        )

    def _typed(self, table: dict[str, Any], key: str, kind: type, number: int) -> Any:
        value = table[key]
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            actual = _TOML_TYPES.get(type(value), "a date or time")
            raise self._error(
                self._key_line(number, key),
                f"'{key}' in [[feeds]] #{number} must be {_TOML_TYPES[kind]}, not {actual}",
            )
        return value

    def _error(self, line: int, reason: str) -> ConfigError:
        return ConfigError(f"{self.path}:{line}: {reason}")

    def _table_line(self, number: int) -> int:
        """Return the line of the ``number``-th ``[[feeds]]`` header (1 if written inline)."""
        headers = [i for i, line in enumerate(self.lines, start=1) if _TABLE_HEADER.match(line)]
        if number <= len(headers):
            return headers[number - 1]
        return self._top_level_line("feeds")

    def _key_line(self, number: int, key: str) -> int:
        """Return the line where ``key`` is set in the ``number``-th table, else its header."""
        start = self._table_line(number)
        pattern = re.compile(rf"\s*([\"']?){re.escape(key)}\1\s*=")
        for index in range(start, len(self.lines)):  # the lines after the header
            line = self.lines[index]
            if _ANY_HEADER.match(line):
                break
            if pattern.match(line):
                return index + 1
        return start

    def _top_level_line(self, key: str) -> int:
        pattern = re.compile(rf"\s*(\[+\s*)?([\"']?){re.escape(key)}\2\s*[=.\]]")
        for index, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return index
        return 1


class _OpmlReader:
    """Read feeds from OPML: outlines with ``xmlUrl``, tagged by their enclosing outlines."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, data: bytes) -> list[FeedSource]:
        # No entity expansion, no DTD, no network: the file may come from anywhere.
        parser = lxml.etree.XMLParser(
            resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False
        )
        try:
            root = lxml.etree.fromstring(data, parser=parser)
        except lxml.etree.XMLSyntaxError as exc:
            line = exc.lineno or 1
            raise ConfigError(f"{self.path}:{line}: malformed OPML: {exc.msg}") from exc
        dtd: Any = root.getroottree().docinfo.internalDTD  # lxml-stubs lack DTD.entities()
        if dtd is not None and list(dtd.entities()):
            # libxml2 expands internal entities in attributes even with resolve_entities=False
            # (within its amplification limits); no feed reader writes them, so refuse them.
            raise ConfigError(f"{self.path}:1: OPML file declares XML entities (<!ENTITY>)")
        if not isinstance(root.tag, str) or lxml.etree.QName(root).localname != "opml":
            raise ConfigError(f"{self.path}:{root.sourceline}: not an OPML file (no <opml> root)")
        body = root.find("body")
        if body is None:
            raise ConfigError(f"{self.path}:{root.sourceline}: OPML file has no <body>")
        feeds: dict[str, FeedSource] = {}
        self._walk(body, (), feeds)
        return list(feeds.values())

    def _walk(
        self, parent: lxml.etree._Element, categories: tuple[str, ...], feeds: dict[str, FeedSource]
    ) -> None:
        for outline in parent.iterchildren("outline"):
            attributes = {str(k).lower(): str(v).strip() for k, v in outline.attrib.items()}
            label = attributes.get("title") or attributes.get("text") or None
            url = attributes.get("xmlurl")
            if not url:
                self._walk(outline, categories + ((label,) if label else ()), feeds)
                continue
            try:
                key = canonicalize_url(url)
            except ValueError as exc:
                raise ConfigError(
                    f"{self.path}:{outline.sourceline}: xmlUrl is not an http(s) URL: {url!r}"
                ) from exc
            listed = _CATEGORY_SEPARATORS.split(attributes.get("category", ""))
            tags = tuple(dict.fromkeys(t.strip() for t in (*categories, *listed) if t.strip()))
            if key in feeds:  # the same feed filed under two folders: keep both folders' tags
                known = feeds[key]
                tags = tuple(dict.fromkeys((*known.tags, *tags)))
                feeds[key] = FeedSource(url=known.url, name=known.name, tags=tags)
            else:
                feeds[key] = FeedSource(url=url, name=label, tags=tags)
