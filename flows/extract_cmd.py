"""``newsflow extract``: cleaning and extraction alone, no database, no Prefect."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from flows.settings import Settings
from ingest.dedup.keys import content_hash
from ingest.errors import IngestError
from ingest.extract.article import Extraction, collect
from ingest.fetch.client import Fetcher
from ingest.model import Article
from storage.repository import ARTICLE_KEYS

#: The article keys a page yields: the stored-article keys minus those only a store knows.
STORE_ONLY_KEYS = frozenset({"id", "feed_url", "guid", "cluster_id", "duplicate_of", "fetched_at"})
PAGE_KEYS = tuple(k for k in ARTICLE_KEYS if k not in STORE_ONLY_KEYS)


def article_dict(article: Article) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(article, k) for k in PAGE_KEYS if hasattr(article, k)}
    values["content_hash"] = content_hash(article.text)
    return values


def provenance(extraction: Extraction) -> dict[str, Any]:
    """For each field: where the chosen value came from, and the candidates passed over."""
    chosen = extraction.article.sources
    explained: dict[str, Any] = {}
    for name, candidates in extraction.candidates.items():
        explained[name] = {
            "source": chosen.get(name),
            "candidates": [
                {"value": _short(c.value), "source": c.source, "origin": c.origin}
                for c in candidates[:10]
            ],
        }
    for name, source in chosen.items():
        explained.setdefault(name, {"source": source, "candidates": []})
    return explained


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


def extract_inputs(
    inputs: list[str], *, base_url: str | None, settings: Settings, explain: bool = False
) -> list[dict[str, Any]]:
    """Extract each input (a file path or an http(s) URL); errors become ``error`` objects."""
    urls = [i for i in inputs if i.startswith(("http://", "https://"))]
    fetched = asyncio.run(_fetch_all(urls, settings)) if urls else {}
    results = []
    for item in inputs:
        result: dict[str, Any] = {"source": item}
        try:
            if item in fetched:
                page = fetched[item]
                if isinstance(page, IngestError):
                    raise page
                body, url, ctype = page.body, page.url, page.content_type
            else:
                body, url, ctype = _read_file(item), base_url or Path(item).resolve().as_uri(), None
            extraction = collect(body, url, content_type=ctype)
        except IngestError as exc:
            result["error"] = str(exc)
        else:
            result.update(article_dict(extraction.article))
            if explain:
                result["provenance"] = provenance(extraction)
        results.append(result)
    return results


def _read_file(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror}") from exc
    if path.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
    return data


async def _fetch_all(urls: list[str], settings: Settings) -> dict[str, Any]:
    async with Fetcher(settings.http_config()) as fetcher:

        async def one(url: str) -> Any:
            try:
                return await fetcher.fetch(
                    url, max_bytes=settings.max_page_bytes, accept="text/html"
                )
            except IngestError as exc:
                return exc

        results = await asyncio.gather(*(one(u) for u in urls))
    return dict(zip(urls, results, strict=True))
