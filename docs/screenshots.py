"""Take the Prefect UI screenshots of docs/monitoring.md with headless Chromium (/usr/bin/chromium).

    apt-get install -y chromium   # Debian's Chromium, once
    uv sync --group docs && .venv/bin/python docs/screenshots.py

Starts a throwaway Prefect server, installs newsflow's alerts (to a webhook receiver of its own),
ingests the bundled demo site, runs an ingest where three of four feeds fail (404, 500, an HTML
page) and one where every feed fails, backfills the test site with a sitemap index (all on
loopback), then photographs the new UI (``/v2/``, where http://127.0.0.1:4200 now leads) into
docs/img/. Playwright drives the system Chromium; it never downloads a browser. The alert
that the Partial run sent is printed at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "flows"))

import backfill_site  # noqa: E402
from broken_feeds import ALL_FAIL_PATHS, PARTIAL_PATHS, broken_feeds, feeds_toml  # noqa: E402

from flows.demo.server import SiteServer, serve_demo_site  # noqa: E402
from flows.localserver import local_prefect_server  # noqa: E402

OUT = ROOT / "docs" / "img"
NEWSFLOW = Path(sys.executable).parent / "newsflow"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Hook(BaseHTTPRequestHandler):
    """Receives the alerts, so the automations have somewhere to send them."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def api(env: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10)


def latest_run(env: dict[str, str], flow_name: str, state_name: str) -> dict[str, Any]:
    with api(env) as client:
        runs = client.post(
            "/flow_runs/filter",
            json={
                "flows": {"name": {"any_": [flow_name]}},
                "flow_runs": {"state": {"name": {"any_": [state_name]}}},
                "sort": "START_TIME_DESC",
                "limit": 1,
            },
        ).json()
    if not runs:
        raise SystemExit(f"no {state_name} run of {flow_name}")
    run: dict[str, Any] = runs[0]
    return run


def artifact_id(env: dict[str, str], run_id: object, key: str) -> str:
    with api(env) as client:
        found = client.post(
            "/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": [key]}}},
        ).json()
    return str(found[0]["id"])


def newsflow(env: dict[str, str], *args: str, check: bool = True) -> None:
    print("+ newsflow", " ".join(args))
    subprocess.run([str(NEWSFLOW), *args], env=env, check=check)


def shoot(ui: str, pages: list[tuple[str, str, str | None]]) -> None:
    """(path, file, text to wait for) for each page."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, name, wait_for in pages:
            page.goto(ui + path)
            page.wait_for_load_state("networkidle")
            if wait_for:
                page.get_by_text(wait_for).first.wait_for(timeout=30_000)
            settle(page)
            page.screenshot(path=str(OUT / name), full_page=False)
            print("wrote", OUT / name)
        browser.close()


def settle(page: Page) -> None:
    """Let charts, the timeline and tables finish drawing."""
    page.wait_for_timeout(5000)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp_name, local_prefect_server(Path(tmp_name)) as env:
        tmp = Path(tmp_name)
        env = dict(env, NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true")
        newsflow(env, "alerts", "install", "--webhook", f"http://127.0.0.1:{hook.server_port}/hook")
        db = f"sqlite:///{tmp / 'news.db'}"
        with serve_demo_site() as demo, broken_feeds() as broken:
            feeds = tmp / "demo.toml"
            feeds.write_text(demo.feeds_toml(), encoding="utf-8")
            newsflow(env, "ingest", "--feeds", str(feeds), "--db", db)
            mixed = tmp / "mixed.toml"
            good = demo.url("/courier/rss.xml")
            mixed.write_text(feeds_toml([good] + [broken + p for p in PARTIAL_PATHS]), "utf-8")
            newsflow(env, "ingest", "--feeds", str(mixed), "--db", f"sqlite:///{tmp / 'p.db'}")
            failing = tmp / "failing.toml"
            failing.write_text(feeds_toml([broken + p for p in ALL_FAIL_PATHS]), "utf-8")
            failing_db = f"sqlite:///{tmp / 'f.db'}"
            newsflow(env, "ingest", "--feeds", str(failing), "--db", failing_db, check=False)
        root = tmp / "site"
        backfill_site.write_site(root)
        with SiteServer(root, feeds={"/feed.xml": "Harbour News"}) as site:
            backfill_site.write_gzipped_sitemap(root, site.base_url)
            feeds = tmp / "backfill.toml"
            feeds.write_text(site.feeds_toml(), encoding="utf-8")
            newsflow(
                env,
                "backfill",
                "--since",
                "2021-09-10",
                "--until",
                "2021-09-20",
                "--feeds",
                str(feeds),
                "--db",
                db,
            )
        ui = env["PREFECT_API_URL"].removesuffix("/api") + "/v2"
        ingest = latest_run(env, "ingest", "Completed")
        partial = latest_run(env, "ingest", "Partial")
        backfill = latest_run(env, "backfill", "Completed")
        deadline = time.monotonic() + 60
        while len(_Hook.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)  # the alerts of the Partial and the Failed run, and the parked feed
        shoot(
            ui,
            [
                ("/runs", "runs.png", "Partial"),
                (f"/runs/flow-run/{partial['id']}", "ingest-partial-run.png", "Partial"),
                (
                    f"/artifacts/artifact/{artifact_id(env, partial['id'], 'ingest-feeds')}",
                    "ingest-partial-feeds.png",
                    "not found (404)",
                ),
                (f"/runs/flow-run/{ingest['id']}", "ingest-run.png", None),
                (f"/runs/flow-run/{ingest['id']}?tab=Artifacts", "ingest-artifacts.png", None),
                (
                    f"/artifacts/artifact/{artifact_id(env, ingest['id'], 'ingest-feeds')}",
                    "ingest-feeds-table.png",
                    None,
                ),
                (f"/runs/flow-run/{backfill['id']}", "backfill-run.png", None),
                (f"/runs/flow-run/{backfill['id']}?tab=Artifacts", "backfill-artifacts.png", None),
                (
                    f"/artifacts/artifact/{artifact_id(env, backfill['id'], 'backfill-progress')}",
                    "backfill-progress.png",
                    None,
                ),
                ("/automations", "automations.png", "newsflow: run failed or partial"),
            ],
        )
    hook.shutdown()
    print("alerts received:")
    for alert in _Hook.received:
        print(json.dumps(alert, indent=2))


if __name__ == "__main__":
    main()
