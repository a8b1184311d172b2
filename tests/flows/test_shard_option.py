"""``newsflow ingest --shard K/N`` is checked before Prefect or any network."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from flows.cli import main


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("2/2", "shard 2 does not exist", id="k-equals-n"),
        pytest.param("-1/3", "shard -1 does not exist", id="negative"),
        pytest.param("0/0", "at least 1", id="zero-shards"),
        pytest.param("1", "is not K/N", id="no-slash"),
        pytest.param("a/b", "is not K/N", id="not-numbers"),
        pytest.param("1/2/3", "is not K/N", id="three-parts"),
    ],
)
def test_bad_shard_exits_2_with_the_reason(value: str, message: str) -> None:
    result = CliRunner().invoke(main, ["ingest", "--shard", value])
    assert result.exit_code == 2
    assert message in result.stderr
