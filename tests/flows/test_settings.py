"""flows/settings.py: an honest User-Agent and the politeness settings (issue #14)."""

from __future__ import annotations

import pytest

from flows.settings import Settings
from ingest import __version__
from ingest.errors import ConfigError
from ingest.fetch.polite import PolitenessConfig


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "USER_AGENT",
        "CONTACT",
        "OBEY_ROBOTS",
        "HOST_DELAY",
        "MAX_CRAWL_DELAY",
        "CRAWL_BUDGET",
    ):
        monkeypatch.delenv(f"NEWSFLOW_{name}", raising=False)


def test_the_default_user_agent_names_newsflow_and_its_version_only() -> None:
    agent = Settings.load().http_config().user_agent
    assert agent == f"newsflow/{__version__}"
    assert "github" not in agent and "http" not in agent


@pytest.mark.parametrize(
    "contact",
    ["https://news-archive.example.org/about-our-crawler", "ops@example.org", "mailto:ops@x.org"],
)
def test_a_contact_is_added_to_the_user_agent(
    monkeypatch: pytest.MonkeyPatch, contact: str
) -> None:
    monkeypatch.setenv("NEWSFLOW_CONTACT", contact)
    assert Settings.load().http_config().user_agent == f"newsflow/{__version__} (+{contact})"


@pytest.mark.parametrize("contact", ["call me", "ftp://example.org/", "a@b", "<x@y.org>"])
def test_a_contact_that_is_no_url_or_email_is_refused(
    monkeypatch: pytest.MonkeyPatch, contact: str
) -> None:
    monkeypatch.setenv("NEWSFLOW_CONTACT", contact)
    with pytest.raises(ConfigError, match=r"NEWSFLOW_CONTACT: .*URL or an email"):
        Settings.load()


def test_a_user_agent_given_whole_is_sent_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_USER_AGENT", "newsflow-lab/2 (+https://lab.example.org)")
    monkeypatch.setenv("NEWSFLOW_CONTACT", "ops@example.org")
    agent = Settings.load().http_config().user_agent
    assert agent == "newsflow-lab/2 (+https://lab.example.org)"


def test_politeness_settings_and_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load().http_config().politeness == PolitenessConfig(
        obey_robots=True, host_delay=0.0, max_crawl_delay=30.0, budget=600.0
    )
    monkeypatch.setenv("NEWSFLOW_OBEY_ROBOTS", "false")
    monkeypatch.setenv("NEWSFLOW_HOST_DELAY", "1.5")
    monkeypatch.setenv("NEWSFLOW_MAX_CRAWL_DELAY", "10")
    monkeypatch.setenv("NEWSFLOW_CRAWL_BUDGET", "120")
    assert Settings.load().http_config().politeness == PolitenessConfig(
        obey_robots=False, host_delay=1.5, max_crawl_delay=10.0, budget=120.0
    )
    monkeypatch.setenv("NEWSFLOW_HOST_DELAY", "-1")
    with pytest.raises(ConfigError, match="NEWSFLOW_HOST_DELAY"):
        Settings.load()
