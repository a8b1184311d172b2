"""Reading WARC files: which records are kept, where a scan resumes, and cut files.

Files are built with warcio (another implementation than the reader) in tmp_path.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from warc_site import Page, day, write_warc

from ingest.backfill.warc_scan import (
    ScanStep,
    SiteFilter,
    TruncatedWarcError,
    WarcPage,
    scan_warc,
)
from ingest.backfill.warc_stream import TailReader
from ingest.errors import ParseError

OURS = "harbour-news.example"
CAPTURED = day(15, 3)


def tail_reader(data: bytes, start: int = 0, chunk: int = 4096) -> TailReader:
    position = start

    def pull() -> bytes:
        nonlocal position
        piece = data[position : position + chunk]
        position += len(piece)
        return piece

    return TailReader(pull, start=start)


def scan(data: bytes, sites: frozenset[str] | None, start: int = 0, **kw: int) -> list[ScanStep]:
    return list(
        scan_warc(tail_reader(data, start), wanted=SiteFilter(sites), max_body=1 << 20, **kw)
    )


def kept(steps: Sequence[ScanStep]) -> list[str]:
    return [page.url for step in steps for page in step.pages]


MIXED = [
    Page(f"https://www.{OURS}/news/a.html", day(15), CAPTURED),
    Page("https://other-paper.example/news/b.html", day(15), CAPTURED),
    Page(f"https://www.{OURS}/news/moved.html", None, CAPTURED, status=301),
    Page(f"https://www.{OURS}/feed.xml", None, CAPTURED, content_type="application/rss+xml"),
    Page(f"https://sport.{OURS}/news/c.html", day(14), CAPTURED),
    Page(f"https://www.{OURS}/news/d.html", None, CAPTURED, content_type="application/xhtml+xml"),
]


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        pytest.param(
            frozenset({OURS}),
            [MIXED[0].url, MIXED[4].url, MIXED[5].url],
            id="one-site-its-html-200-pages",
        ),
        pytest.param(
            None, [MIXED[0].url, MIXED[1].url, MIXED[4].url, MIXED[5].url], id="all-sites"
        ),
        pytest.param(frozenset({"nobody.example"}), [], id="no-site-matches"),
    ],
)
@pytest.mark.parametrize("gzipped", [pytest.param(True, id="gz"), pytest.param(False, id="plain")])
def test_keeps_the_html_pages_of_wanted_sites(
    tmp_path: Path, sites: frozenset[str] | None, expected: list[str], gzipped: bool
) -> None:
    path = tmp_path / "a.warc"
    write_warc(path, MIXED, gzipped=gzipped)
    steps = scan(path.read_bytes(), sites)
    assert kept(steps) == expected
    assert sum(s.records for s in steps) == len(MIXED)  # response records
    assert steps[-1].done and steps[-1].resume_offset == path.stat().st_size


def test_a_kept_page_has_its_capture_time_site_type_and_body(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    offsets = write_warc(path, MIXED[:1])
    [page] = [p for s in scan(path.read_bytes(), frozenset({OURS})) for p in s.pages]
    assert page == WarcPage(
        url=MIXED[0].url,
        site=OURS,
        captured_at=CAPTURED,
        content_type="text/html; charset=utf-8",
        body=page.body,
        offset=offsets[0],
    )
    assert page.body.startswith(b"<!doctype html>") and b"Story a" in page.body


def test_steps_resume_where_they_say(tmp_path: Path) -> None:
    pages = [Page(f"https://www.{OURS}/news/{n}.html", day(15), CAPTURED) for n in range(7)]
    path = tmp_path / "a.warc.gz"
    offsets = write_warc(path, pages)
    data = path.read_bytes()
    steps = scan(data, frozenset({OURS}), step_pages=3)
    assert [len(s.pages) for s in steps] == [3, 3, 1]
    # The first step ends where the fourth page's record starts: resuming there reads the rest.
    assert steps[0].resume_offset == offsets[3]
    rest = scan(data, frozenset({OURS}), start=steps[0].resume_offset, step_pages=3)
    assert kept(rest) == [p.url for p in pages[3:]]
    assert rest[-1].done


def test_a_whole_file_gzip_stream_is_read_but_resumes_from_the_start(tmp_path: Path) -> None:
    pages = [Page(f"https://www.{OURS}/news/{n}.html", day(15), CAPTURED) for n in range(4)]
    plain = tmp_path / "a.warc"
    write_warc(plain, pages, gzipped=False)
    steps = scan(gzip.compress(plain.read_bytes()), frozenset({OURS}), step_pages=2)
    assert kept(steps) == [p.url for p in pages]
    assert [s.resume_offset for s in steps[:-1]] == [0]  # no record starts a member of its own


@pytest.mark.parametrize(
    ("gzipped", "where", "whole"),
    [
        pytest.param(True, lambda size, o: o[2] + 40, 2, id="gz-inside-a-response-header"),
        pytest.param(True, lambda size, o: o[2] - 30, 2, id="gz-inside-a-request"),
        pytest.param(True, lambda size, o: (o[4] + size) // 2, 4, id="gz-inside-the-last"),
        pytest.param(True, lambda size, o: size - 3, 4, id="gz-in-the-last-member-trailer"),
        pytest.param(False, lambda size, o: o[2] + 40, 2, id="plain-inside-a-response-header"),
        pytest.param(False, lambda size, o: (o[4] + size) // 2, 4, id="plain-inside-the-last"),
    ],
)
def test_a_cut_file_yields_the_records_before_the_cut_then_says_so(
    tmp_path: Path, gzipped: bool, where: Callable[[int, list[int]], int], whole: int
) -> None:
    pages = [Page(f"https://www.{OURS}/news/{n}.html", day(15), CAPTURED) for n in range(5)]
    path = tmp_path / "a.warc"
    offsets = write_warc(path, pages, gzipped=gzipped)
    cut = where(path.stat().st_size, offsets)
    steps: list[ScanStep] = []
    with pytest.raises(TruncatedWarcError, match=r"cut short inside the record at byte \d+"):
        for step in scan_warc(
            tail_reader(path.read_bytes()[:cut]), wanted=SiteFilter(None), max_body=1 << 20
        ):
            steps.append(step)
    assert kept(steps) == [p.url for p in pages[:whole]]
    assert not steps[-1].done
    # A later run resumes after the last whole record: no page is lost, none read twice.
    assert offsets[whole - 1] < steps[-1].resume_offset <= cut


def test_a_plain_file_missing_only_its_last_line_break_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.warc"
    write_warc(path, MIXED, gzipped=False)
    steps = scan(path.read_bytes()[:-2], None)
    assert len(kept(steps)) == 4 and steps[-1].done


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<html>not a warc</html>" * 50, id="html"),
        pytest.param(gzip.compress(b"just some text\n" * 100), id="gzipped-text"),
    ],
)
def test_what_is_no_warc_file_is_refused(data: bytes) -> None:
    with pytest.raises(ParseError):
        scan(data, None)


def test_a_warc_file_with_no_response_is_read_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(path, [])  # a warcinfo record only
    [step] = scan(path.read_bytes(), None)
    assert step == ScanStep((), 0, 0, path.stat().st_size, path.stat().st_size, done=True)


def test_a_read_error_is_raised_not_taken_for_the_end(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(path, MIXED)
    data = path.read_bytes()
    served = 0

    def pull() -> bytes:
        nonlocal served
        if served > len(data) // 2:
            raise ConnectionResetError("connection reset by peer")
        served += 4096
        return data[served - 4096 : served]

    with pytest.raises(ParseError, match="connection reset"):
        list(scan_warc(TailReader(pull), wanted=SiteFilter(None), max_body=1 << 20))


@pytest.mark.parametrize(
    ("url", "site"),
    [
        pytest.param("https://www.harbour-news.example/a", "harbour-news.example", id="www"),
        pytest.param("http://sport.harbour-news.example:8080/a", "harbour-news.example", id="port"),
        pytest.param("<https://www.harbour-news.example/a>", "harbour-news.example", id="angle"),
        pytest.param("https://alice.github.io/a", None, id="another-tenant"),
        pytest.param("ftp://harbour-news.example/a", None, id="not-http"),
        pytest.param("https:///nohost", None, id="no-host"),
    ],
)
def test_site_filter(url: str, site: str | None) -> None:
    wanted = SiteFilter(frozenset({"harbour-news.example", "bob.github.io"}))
    assert wanted.site(url) == site
    assert wanted.site(url) == site  # and the same from its cache
