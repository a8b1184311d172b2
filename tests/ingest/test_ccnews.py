"""CC-NEWS listings and file selection, ``--warc`` inputs, and streaming a remote WARC file."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from warc_site import Page, WarcServer, day, write_warc

from ingest.backfill.ccnews import (
    Month,
    capture_time,
    ccnews_files,
    listing_path,
    months_between,
    select_files,
)
from ingest.backfill.days import DayRange
from ingest.backfill.warc_scan import SiteFilter, scan_warc
from ingest.backfill.warc_sources import WarcFile, resolve_warc_inputs, shard_files
from ingest.backfill.warc_stream import open_warc
from ingest.errors import BlockedAddressError, ConfigError, PermanentFetchError
from ingest.fetch.client import Fetcher, HttpConfig

BASE = "https://data.example/"
SEPTEMBER = DayRange(date(2021, 9, 14), date(2021, 9, 16))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(
            "crawl-data/CC-NEWS/2021/09/CC-NEWS-20210914093021-00042.warc.gz",
            datetime(2021, 9, 14, 9, 30, 21, tzinfo=UTC),
            id="cc-news-path",
        ),
        pytest.param(
            "CC-NEWS-20161231235959-00001.warc",
            datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC),
            id="plain-warc",
        ),
        pytest.param("CC-NEWS-20211399000000-00001.warc.gz", None, id="month-13"),
        pytest.param("crawl-data/CC-MAIN-2021-39/segments/x.warc.gz", None, id="another-crawl"),
    ],
)
def test_capture_time_from_the_file_name(path: str, expected: datetime | None) -> None:
    assert capture_time(path) == expected


def test_months_of_a_window_across_a_year_end() -> None:
    start, end = datetime(2021, 12, 30, tzinfo=UTC), datetime(2022, 2, 1, tzinfo=UTC)
    assert months_between(start, end) == [Month(2021, 12), Month(2022, 1)]
    assert listing_path(Month(2022, 1)) == "crawl-data/CC-NEWS/2022/01/warc.paths.gz"


def test_files_are_chosen_by_capture_time_with_the_lag() -> None:
    names = [
        "CC-NEWS-20210913235959-00001.warc.gz",  # before the range
        "CC-NEWS-20210914000000-00002.warc.gz",  # first second of the range
        "CC-NEWS-20210919235959-00003.warc.gz",  # last second of until + 3 days
        "CC-NEWS-20210920000000-00004.warc.gz",  # after the lag
        "warc.paths.gz",  # not a WARC file name: skipped
    ]
    paths = [f"crawl-data/CC-NEWS/2021/09/{n}" for n in names]
    chosen = select_files(
        paths, base_url=BASE, start=SEPTEMBER.start, end=datetime(2021, 9, 20, tzinfo=UTC)
    )
    assert [f.key for f in chosen] == paths[1:3]
    assert chosen[0].url == BASE + paths[1]


def _listing(*names: str, month: str = "2021/09") -> bytes:
    return gzip.compress("".join(f"crawl-data/CC-NEWS/{month}/{n}\n" for n in names).encode())


async def _files(
    routes: dict[str, httpx.Response], days: DayRange, today: date
) -> tuple[list[WarcFile], list[str]]:
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return routes.get(request.url.path, httpx.Response(404))

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    config = HttpConfig(user_agent="t", allow_private_networks=True)
    async with Fetcher(config, resolver=resolve, transport=httpx.MockTransport(handle)) as fetcher:
        files = await ccnews_files(days, base_url=BASE, lag_days=3, fetcher=fetcher, today=today)
    return files, asked


@pytest.mark.anyio
async def test_a_range_at_a_month_end_reads_the_next_month_for_the_lag() -> None:
    routes = {
        "/crawl-data/CC-NEWS/2021/09/warc.paths.gz": httpx.Response(
            200, content=_listing("CC-NEWS-20210929000000-00001.warc.gz")
        ),
        "/crawl-data/CC-NEWS/2021/10/warc.paths.gz": httpx.Response(
            200,
            content=_listing(
                "CC-NEWS-20211002000000-00002.warc.gz",
                "CC-NEWS-20211005000000-00003.warc.gz",
                month="2021/10",
            ),
        ),
    }
    days = DayRange(date(2021, 9, 28), date(2021, 9, 30))
    files, asked = await _files(routes, days, today=date(2024, 1, 1))
    assert [f.name for f in files] == [
        "CC-NEWS-20210929000000-00001.warc.gz",
        "CC-NEWS-20211002000000-00002.warc.gz",
    ]
    assert asked == list(routes)


@pytest.mark.anyio
async def test_an_unpublished_lag_month_adds_nothing_but_a_missing_range_month_fails() -> None:
    days = DayRange(date(2021, 9, 28), date(2021, 9, 30))
    routes = {
        "/crawl-data/CC-NEWS/2021/09/warc.paths.gz": httpx.Response(
            200, content=_listing("CC-NEWS-20210929000000-00001.warc.gz")
        )
    }
    files, _ = await _files(routes, days, today=date(2021, 10, 1))
    assert len(files) == 1  # October's listing is a 404: not published yet
    with pytest.raises(PermanentFetchError, match="cannot read the CC-NEWS listing"):
        await _files({}, days, today=date(2021, 10, 1))


@pytest.mark.anyio
async def test_months_after_today_are_not_asked_for() -> None:
    days = DayRange(date(2021, 9, 28), date(2021, 9, 30))
    routes = {"/crawl-data/CC-NEWS/2021/09/warc.paths.gz": httpx.Response(200, content=_listing())}
    _, asked = await _files(routes, days, today=date(2021, 9, 30))
    assert asked == ["/crawl-data/CC-NEWS/2021/09/warc.paths.gz"]


# --warc inputs


@pytest.mark.anyio
async def test_warc_inputs_paths_directories_and_listings(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    for name in ("b.warc.gz", "a.warc", "notes.txt"):
        (folder / name).write_bytes(b"x")
    listing = tmp_path / "mine.paths"
    listing.write_text(
        "crawl/a.warc\n\nhttps://mirror.example/x.warc.gz\n"
        "crawl-data/CC-NEWS/2021/09/CC-NEWS-20210914000000-00001.warc.gz\n"
    )
    async with Fetcher(HttpConfig(user_agent="t")) as fetcher:
        files = await resolve_warc_inputs(
            [str(folder), str(listing)], fetcher=fetcher, ccnews_base=BASE
        )
    assert [f.url for f in files] == [
        str(folder / "a.warc"),
        str(folder / "b.warc.gz"),
        "https://mirror.example/x.warc.gz",
        BASE + "crawl-data/CC-NEWS/2021/09/CC-NEWS-20210914000000-00001.warc.gz",
    ]  # crawl/a.warc once, though named twice
    assert files[3].key.startswith("crawl-data/")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param("missing.warc.gz", "no such file", id="missing"),
        pytest.param("empty-dir", "holds no .warc", id="empty-directory"),
        pytest.param(" ", "needs a path or URL", id="blank"),
    ],
)
@pytest.mark.anyio
async def test_bad_warc_inputs_are_refused(tmp_path: Path, given: str, message: str) -> None:
    (tmp_path / "empty-dir").mkdir()
    target = given if given.strip() == "" else str(tmp_path / given)
    async with Fetcher(HttpConfig(user_agent="t")) as fetcher:
        with pytest.raises(ConfigError, match=message):
            await resolve_warc_inputs([target], fetcher=fetcher, ccnews_base=BASE)


def test_shards_split_files_disjointly_and_completely() -> None:
    files = [WarcFile(url=f"/w/{n}.warc.gz", key=f"/w/{n}.warc.gz") for n in range(40)]
    shards = [shard_files(files, k, 4) for k in range(4)]
    assert sorted(f.key for s in shards for f in s) == sorted(f.key for f in files)
    assert all(shards)  # 40 files over 4 shards: none is empty
    assert shard_files(files, 1, 4) == shards[1]  # the same in every process


# streaming a remote file


@pytest.fixture
def served(tmp_path: Path) -> tuple[WarcServer, list[Page], list[int]]:
    pages = [Page(f"https://www.ours.example/news/{n}.html", day(15), day(15, 3)) for n in range(6)]
    offsets = write_warc(tmp_path / "a.warc.gz", pages)
    return WarcServer(tmp_path), pages, offsets


async def _read(server: WarcServer, offset: int) -> list[str]:
    config = HttpConfig(user_agent="t", allow_private_networks=True)
    file = WarcFile(url=server.base_url + "a.warc.gz", key="a")
    async with (
        Fetcher(config) as fetcher,
        open_warc(file, offset=offset, fetcher=fetcher, chunk_timeout=30) as stream,
    ):
        steps = await asyncio.to_thread(
            lambda: list(scan_warc(stream, wanted=SiteFilter(None), max_body=1 << 20))
        )
    return [p.url for s in steps for p in s.pages]


@pytest.mark.anyio
async def test_a_remote_file_streams_and_resumes_with_a_range(
    served: tuple[WarcServer, list[Page], list[int]],
) -> None:
    server, pages, offsets = served
    with server:
        assert await _read(server, 0) == [p.url for p in pages]
        assert await _read(server, offsets[4]) == [p.url for p in pages[4:]]
    assert [r.range for r in server.requests] == [None, f"bytes={offsets[4]}-"]


@pytest.mark.anyio
async def test_a_missing_remote_file_is_a_permanent_error(
    served: tuple[WarcServer, list[Page], list[int]],
) -> None:
    server, _, _ = served
    config = HttpConfig(user_agent="t", allow_private_networks=True)
    with server:
        async with Fetcher(config) as fetcher:
            with pytest.raises(PermanentFetchError, match="404"):
                async with fetcher.stream(server.base_url + "nope.warc.gz"):
                    pass


@pytest.mark.anyio
async def test_a_loopback_file_is_refused_unless_private_networks_are_allowed(
    served: tuple[WarcServer, list[Page], list[int]],
) -> None:
    server, _, _ = served
    with server:
        async with Fetcher(HttpConfig(user_agent="t")) as fetcher:
            with pytest.raises(BlockedAddressError):
                async with fetcher.stream(server.base_url + "a.warc.gz"):
                    pass
    assert server.requests == []  # refused before any connection


@pytest.mark.anyio
async def test_a_host_the_operator_named_may_be_on_loopback(
    served: tuple[WarcServer, list[Page], list[int]],
) -> None:
    server, _, _ = served
    config = HttpConfig(user_agent="t", trusted_hosts=("127.0.0.1",))
    with server:
        async with (
            Fetcher(config) as fetcher,
            fetcher.stream(server.base_url + "a.warc.gz") as body,
        ):
            assert body.start == 0 and body.length is not None
        # another loopback name is not the one named: refused
        async with Fetcher(config) as fetcher:
            with pytest.raises(BlockedAddressError):
                async with fetcher.stream(server.base_url.replace("127.0.0.1", "127.0.0.2")):
                    pass


@pytest.mark.anyio
async def test_a_server_ignoring_ranges_is_read_from_the_start_and_skipped_to_the_offset(
    served: tuple[WarcServer, list[Page], list[int]], tmp_path: Path
) -> None:
    _, pages, offsets = served
    data = (tmp_path / "a.warc.gz").read_bytes()
    asked: list[tuple[str, str | None]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, request.headers.get("range")))
        if request.url.path == "/old.warc.gz":
            return httpx.Response(302, headers={"Location": "/a.warc.gz"})
        return httpx.Response(200, content=data)  # no ranges here

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]  # MockTransport never connects

    config = HttpConfig(user_agent="t", allow_private_networks=True)
    file = WarcFile(url="https://files.example/old.warc.gz", key="a")
    transport = httpx.MockTransport(handle)
    async with (
        Fetcher(config, resolver=resolve, transport=transport) as fetcher,
        open_warc(file, offset=offsets[4], fetcher=fetcher, chunk_timeout=30) as stream,
    ):
        steps = await asyncio.to_thread(
            lambda: list(scan_warc(stream, wanted=SiteFilter(None), max_body=1 << 20))
        )
    assert [p.url for s in steps for p in s.pages] == [p.url for p in pages[4:]]
    ranged = f"bytes={offsets[4]}-"
    assert asked == [("/old.warc.gz", ranged), ("/a.warc.gz", ranged)]
