"""newsflow's configuration, read once from ``NEWSFLOW_*`` variables and passed down.

Command-line flags override the environment: they are passed to :meth:`Settings.load`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest import __version__
from ingest.errors import ConfigError
from ingest.fetch.client import HttpConfig
from ingest.fetch.polite import PolitenessConfig
from ingest.pipeline import PipelineConfig
from ingest.prepare import PageWorkers, default_processes

MIB = 1024 * 1024
_EMAIL = re.compile(r"^(?:mailto:)?[^@\s()<>]+@[^@\s()<>]+\.[^@\s()<>]+$")
_CONTACT_URL = re.compile(r"^https?://[^\s()<>]+$")


def default_user_agent(contact: str | None = None) -> str:
    """``newsflow/<version>``, plus `` (+<contact>)`` when the operator gave a contact."""
    agent = f"newsflow/{__version__}"
    return f"{agent} (+{contact})" if contact else agent


class Settings(BaseSettings):
    """Every knob, with its ``NEWSFLOW_`` variable and default (docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///newsflow.db"
    feeds: Path = Path("feeds.toml")
    #: Where site owners reach the operator: a URL or an email address, in the User-Agent.
    contact: str | None = None
    #: The whole User-Agent; None: ``newsflow/<version>`` plus the contact (docs/politeness.md).
    user_agent: str | None = None
    allow_private_networks: bool = False
    connect_timeout: float = Field(10.0, gt=0, le=300)
    read_timeout: float = Field(10.0, gt=0, le=300)
    total_timeout: float = Field(30.0, gt=0, le=600)
    max_feed_bytes: int = Field(10 * MIB, gt=0)
    max_page_bytes: int = Field(5 * MIB, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    per_host_concurrency: int = Field(2, ge=1, le=64)
    max_concurrency: int = Field(16, ge=1, le=512)
    #: Task runs an ingest makes at most: one per feed up to this, feeds grouped by site beyond.
    max_tasks: int = Field(100, ge=1, le=10_000)
    fetch_interval_minutes: float = Field(15.0, gt=0, le=1440)
    #: Minutes: the bounds of each feed's learned polling interval (ingest.feeds.schedule).
    min_interval: float = Field(5.0, gt=0, le=1440)
    max_interval: float = Field(60.0, gt=0, le=1440)
    raw_page_retention_days: int = Field(90, ge=0)
    #: Processes that extract pages during an ingest; None: one per core, 0: threads only.
    extract_processes: int | None = Field(None, ge=0, le=256)
    #: Consult robots.txt for article pages, sitemaps and archive pages (docs/politeness.md).
    obey_robots: bool = True
    #: Seconds between two requests to any one host, at least (a floor under Crawl-delay).
    host_delay: float = Field(0.0, ge=0, le=3600)
    #: The longest robots.txt Crawl-delay (or Request-rate gap) honoured, in seconds.
    max_crawl_delay: float = Field(30.0, ge=0, le=3600)
    #: Seconds from a run's start within which a page waiting for its host's crawl delay
    #: must get its turn; pages whose turn falls later are left for the next run.
    crawl_budget: float = Field(600.0, gt=0, le=86_400)
    #: Root of the Common Crawl archive, where crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz are.
    ccnews_url: str = "https://data.commoncrawl.org/"
    #: Days after a range's last day whose CC-NEWS files are read too: pages are captured
    #: some time after they are published.
    ccnews_capture_lag_days: int = Field(3, ge=0, le=60)

    @field_validator("contact")
    @classmethod
    def _contact_is_url_or_email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not (_CONTACT_URL.match(value) or _EMAIL.match(value)):
            raise ValueError("must be an http(s) URL or an email address")
        return value

    @property
    def agent(self) -> str:
        """The User-Agent sent: NEWSFLOW_USER_AGENT, else newsflow/<version> (+contact)."""
        return self.user_agent or default_user_agent(self.contact)

    @model_validator(mode="after")
    def _interval_bounds_in_order(self) -> Settings:
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"NEWSFLOW_MIN_INTERVAL ({self.min_interval:g}) is longer than "
                f"NEWSFLOW_MAX_INTERVAL ({self.max_interval:g})"
            )
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment once; flags given as overrides win. Bad values -> ConfigError."""
        given = {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc

    def http_config(self) -> HttpConfig:
        return HttpConfig(
            user_agent=self.agent,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            total_timeout=self.total_timeout,
            max_redirects=self.max_redirects,
            per_host=self.per_host_concurrency,
            max_connections=self.max_concurrency,
            allow_private_networks=self.allow_private_networks,
            politeness=PolitenessConfig(
                obey_robots=self.obey_robots,
                host_delay=self.host_delay,
                max_crawl_delay=self.max_crawl_delay,
                budget=self.crawl_budget,
            ),
        )

    def page_workers(self) -> PageWorkers:
        """Where an ingest extracts its pages (start it with ``with``/``async with``)."""
        return PageWorkers(self.worker_processes())

    def worker_processes(self) -> int:
        """How many extraction processes a run uses (0: threads of its own process)."""
        processes = self.extract_processes
        return default_processes() if processes is None else processes

    def pipeline_config(self) -> PipelineConfig:
        return PipelineConfig(
            max_feed_bytes=self.max_feed_bytes,
            max_page_bytes=self.max_page_bytes,
            base_interval=timedelta(minutes=self.fetch_interval_minutes),
            min_interval=timedelta(minutes=self.min_interval),
            max_interval=timedelta(minutes=self.max_interval),
        )

    def early(self) -> timedelta:
        """How soon before its time a scheduled run reads a feed: the run nearest it does."""
        return timedelta(minutes=self.min_interval) / 2


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"])
        if not name:  # a check across settings, which names them itself
            problems.append(error["msg"].removeprefix("Value error, "))
            continue
        problems.append(f"NEWSFLOW_{name.upper()}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)
