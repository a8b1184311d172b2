"""One Prefect test server for the whole session (it costs ~15 s to start).

Prefect 3.9.1 leaks a client on every flow run: ``prefect/results.py``,
``_read_server_default_result_storage_block_id``, calls ``get_client(sync_client=True)`` and
never closes it, so its socket to the API server is closed by the garbage collector with a
ResourceWarning, which ``filterwarnings = ["error"]`` turns into a failure of whichever test is
running then. Only that warning is ignored, and only for sockets to this session's test server
(its port is known once it started); each flows test ends with a collection, so no leaked
client outlives the tests that made it. Sockets of our own (the fetcher's, the test sites')
still fail a test when left open.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Generator, Iterator
from urllib.parse import urlsplit

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


_API_PORT = pytest.StashKey[int]()


def _ignore_prefect_client_leaks(port: int) -> None:
    warnings.filterwarnings(
        "ignore",
        category=ResourceWarning,
        message=rf"unclosed <socket\.socket .*raddr=\('127\.0\.0\.1', {port}\)>",
    )


@pytest.fixture(scope="session")
def prefect_harness(pytestconfig: pytest.Config) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        port = urlsplit(PREFECT_API_URL.value()).port
        assert port is not None
        pytestconfig.stash[_API_PORT] = port
        _ignore_prefect_client_leaks(port)  # for the test that started the server
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Inside pytest's own warning filters: ignore the leak above, then collect it."""
    with warnings.catch_warnings():
        port = item.config.stash.get(_API_PORT, None)
        if port is not None:
            _ignore_prefect_client_leaks(port)
        try:
            return (yield)
        finally:
            gc.collect()


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test servers live on 127.0.0.1, which newsflow refuses by default."""
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS", "true")
