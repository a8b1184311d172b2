"""The command line without Prefect: extract, articles, feeds, db, and argument errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import main

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"


def invoke(*args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(main, list(args), env=env)


def test_extract_keeps_input_order_and_reports_errors_inline(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.html")
    page = str(PAGES / "opengraph_only.html")
    result = CliRunner().invoke(main, ["extract", page, missing, page, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["source"] for o in objects] == [page, missing, page]
    assert "error" in objects[1] and "title" not in objects[1]
    assert objects[0]["title"] == objects[2]["title"]
    assert objects[0]["content_hash"] and objects[0]["word_count"] > 50


def test_extract_with_base_url_and_explain() -> None:
    page = str(PAGES / "title_site_suffix.html")
    result = CliRunner().invoke(
        main, ["extract", page, "--url", "https://gazette.example/x?utm_source=a", "--explain"]
    )
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["url"] == "https://gazette.example/x?utm_source=a"
    assert obj["provenance"]["title"]["source"] == "meta"
    assert obj["provenance"]["title"]["candidates"][0]["origin"] == "<title>"


@pytest.mark.parametrize(
    ("page_url", "declared", "expected"),
    [
        pytest.param(
            "https://alice.github.io/post.html",
            "https://bob.github.io/2021/real-story.html",
            "https://alice.github.io/post.html",
            id="another-tenant-of-a-shared-host-is-refused",
        ),
        pytest.param(
            "https://alice.github.io/post.html",
            "https://alice.github.io/2021/real-story.html",
            "https://alice.github.io/2021/real-story.html",
            id="the-same-tenant-is-accepted",
        ),
        pytest.param(
            "https://news.example.co.uk/a",
            "https://www.example.co.uk/story",
            "https://www.example.co.uk/story",
            id="same-registrable-domain-is-accepted",
        ),
    ],
)
def test_extract_canonical_only_on_the_same_site(
    tmp_path: Path, page_url: str, declared: str, expected: str
) -> None:
    """Issue #14: a page cannot claim another site's article identity through rel=canonical."""
    page = tmp_path / "page.html"
    page.write_text(
        f'<html><head><link rel="canonical" href="{declared}"><title>Post</title></head>'
        "<body><article><h1>Post</h1><p>"
        + "A paragraph of the post that is long enough to be the body. " * 8
        + "</p></article></body></html>",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["extract", "--url", page_url, str(page)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["canonical_url"] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["articles", "--since", "yesterday"], "is not an ISO date", id="bad-since"),
        pytest.param(["articles", "--limit", "0"], "0", id="bad-limit"),
        pytest.param(["articles", "--db", "mysql://x/y"], "unsupported database", id="bad-db"),
        pytest.param(
            ["feeds", "reset", "https://nope.example/rss"], "no feed with URL", id="reset-unknown"
        ),
    ],
)
def test_bad_arguments_exit_nonzero_with_reason(
    args: list[str], message: str, tmp_path: Path
) -> None:
    env = {"NEWSFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code != 0
    assert message in result.output


def test_bad_environment_names_the_variable(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["articles", "--db", f"sqlite:///{tmp_path / 'n.db'}"],
        env={"NEWSFLOW_TOTAL_TIMEOUT": "soon"},
    )
    assert result.exit_code == 1
    assert "NEWSFLOW_TOTAL_TIMEOUT" in result.output


def test_ingest_refuses_a_bad_feeds_file_before_starting_prefect(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feeds]]\nurl = "https://a.example/rss"\ntag = "x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--feeds", str(feeds), "--db", "sqlite://"])
    assert result.exit_code == 1
    assert f"{feeds}:3: unknown key 'tag'" in result.output


def test_empty_store_lists_nothing_and_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    for _ in range(2):
        upgraded = CliRunner().invoke(main, ["db", "upgrade", "--db", db])
        assert upgraded.exit_code == 0, upgraded.output
    listed = CliRunner().invoke(main, ["articles", "--db", db, "--format", "jsonl"])
    assert (listed.exit_code, listed.stdout) == (0, "")
    feeds = CliRunner().invoke(main, ["feeds", "list", "--db", db, "--format", "jsonl"])
    assert (feeds.exit_code, feeds.stdout) == (0, "")
