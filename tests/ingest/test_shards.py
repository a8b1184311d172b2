"""Feed shards: a stable hash of the URL, every feed in exactly one shard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import ConfigError
from ingest.feeds.shards import check_shard, select_shard, stable_hash
from ingest.model import FeedSource

FEEDS = [FeedSource(f"https://site{i}.example/feed/{i % 7}.xml") for i in range(200)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # The partition must never change between releases, machines or Python versions:
        # these are the first 8 bytes of the SHA-256 digests, written down once.
        pytest.param("", 0xE3B0C44298FC1C14, id="empty"),
        pytest.param("https://a.example/rss", 0xF14074E5979B9D9B, id="a-example"),
        pytest.param(
            "https://feeds.bbci.co.uk/news/world/rss.xml", 0x1796DF62C4A287CC, id="bbc-world"
        ),
    ],
)
def test_stable_hash_is_the_first_8_bytes_of_sha256(text: str, value: int) -> None:
    assert stable_hash(text) == value


@pytest.mark.parametrize("shards", [1, 2, 3, 4, 7, 16])
def test_every_feed_is_in_exactly_one_shard(shards: int) -> None:
    parts = [select_shard(FEEDS, k, shards) for k in range(shards)]
    urls = [s.url for part in parts for s in part]
    assert sorted(urls) == sorted(s.url for s in FEEDS)  # all of them, none twice
    if shards <= 4:  # 200 feeds spread over a few shards: none is empty
        assert all(parts)


@given(st.lists(st.text(min_size=1), unique=True, max_size=50), st.integers(1, 10))
def test_shards_partition_any_feed_list(urls: list[str], shards: int) -> None:
    sources = [FeedSource(u) for u in urls]
    parts = [select_shard(sources, k, shards) for k in range(shards)]
    assert sorted(s.url for part in parts for s in part) == sorted(urls)
    for part in parts:  # each keeps the configured order
        assert part == [s for s in sources if s in part]


@pytest.mark.parametrize(
    ("shard", "shards", "message"),
    [
        pytest.param(2, 2, "shard 2 does not exist", id="k-equals-n"),
        pytest.param(-1, 2, "shard -1 does not exist", id="negative"),
        pytest.param(0, 0, "at least 1", id="no-shards"),
    ],
)
def test_bad_shards_are_refused(shard: int, shards: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_shard(shard, shards)
    with pytest.raises(ConfigError, match=message):
        select_shard(FEEDS, shard, shards)
