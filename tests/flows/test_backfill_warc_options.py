"""``newsflow backfill`` refuses WARC options that do not fit together, before Prefect starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from flows.cli import main

RANGE = ["backfill", "--since", "2021-09-14", "--until", "2021-09-16"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--warc", "a.warc.gz"], "need --source ccnews or warc", id="warc-sitemap"),
        pytest.param(["--all-sites"], "need --source ccnews or warc", id="all-sites-sitemap"),
        pytest.param(["--shard", "0/2"], "need --source ccnews or warc", id="shard-sitemap"),
        pytest.param(["--source", "warc"], "needs at least one --warc", id="warc-without-files"),
        pytest.param(
            ["--source", "ccnews", "--warc", "a.warc.gz"], "finds its own files", id="ccnews-warc"
        ),
        pytest.param(["--source", "ccnews", "--shard", "4/4"], "shard 4 does not exist", id="k=n"),
        pytest.param(["--source", "cc-news"], "Invalid value for '--source'", id="unknown"),
    ],
)
def test_bad_warc_options_exit_2_with_the_reason(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, [*RANGE, *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_missing_warc_file_is_refused_with_its_name_before_prefect_starts() -> None:
    args = [*RANGE, "--source", "warc", "--all-sites", "--warc", "/nonexistent/a.warc.gz"]
    args += ["--db", "sqlite://", "--feeds", "/nonexistent/feeds.toml"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "--warc /nonexistent/a.warc.gz: no such file or directory" in result.stderr
