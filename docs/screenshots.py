"""Take the Prefect UI screenshots of docs/monitoring.md with headless Chromium (/usr/bin/chromium).

    uv sync --group docs && .venv/bin/python docs/screenshots.py

Starts a throwaway Prefect server, ingests the bundled demo site and backfills the test site
with a sitemap index (both on loopback), then photographs the runs' pages into docs/img/.
Playwright drives the system Chromium; it never downloads a browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "flows"))

import backfill_site  # noqa: E402

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


def latest_run(env: dict[str, str], flow_name: str) -> dict[str, object]:
    with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10) as client:
        runs = client.post(
            "/flow_runs/filter",
            json={"flows": {"name": {"any_": [flow_name]}}, "sort": "START_TIME_DESC", "limit": 1},
        ).json()
    return runs[0]


def artifact_id(env: dict[str, str], run_id: object, key: str) -> str:
    with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10) as client:
        found = client.post(
            "/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": [key]}}},
        ).json()
    return str(found[0]["id"])


def shoot(ui: str, pages: list[tuple[str, str, str | None]]) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, name, tab in pages:
            page.goto(ui + path)
            page.wait_for_load_state("networkidle")
            if tab:
                page.get_by_text(tab, exact=True).first.click()
                page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)  # let charts and tables finish rendering
            page.screenshot(path=str(OUT / name), full_page=False)
            print("wrote", OUT / name)
        browser.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name, local_prefect_server(Path(tmp_name)) as env:
        tmp = Path(tmp_name)
        env = dict(env, NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true")
        db = f"sqlite:///{tmp / 'news.db'}"
        with serve_demo_site() as demo:
            feeds = tmp / "demo.toml"
            feeds.write_text(demo.feeds_toml(), encoding="utf-8")
            subprocess.run(
                [str(NEWSFLOW), "ingest", "--feeds", str(feeds), "--db", db], env=env, check=True
            )
        root = tmp / "site"
        backfill_site.write_site(root)
        with SiteServer(root, feeds={"/feed.xml": "Harbour News"}) as site:
            backfill_site.write_gzipped_sitemap(root, site.base_url)
            feeds = tmp / "backfill.toml"
            feeds.write_text(site.feeds_toml(), encoding="utf-8")
            subprocess.run(
                [
                    str(NEWSFLOW),
                    "backfill",
                    "--since",
                    "2021-09-10",
                    "--until",
                    "2021-09-20",
                    "--feeds",
                    str(feeds),
                    "--db",
                    db,
                ],
                env=env,
                check=True,
            )
        ui = env["PREFECT_API_URL"].removesuffix("/api")
        ingest, backfill = latest_run(env, "ingest"), latest_run(env, "backfill")
        shoot(
            ui,
            [
                (f"/runs/flow-run/{ingest['id']}", "ingest-run.png", None),
                (f"/runs/flow-run/{ingest['id']}", "ingest-artifacts.png", "Artifacts"),
                (f"/runs/flow-run/{backfill['id']}", "backfill-run.png", None),
                (f"/runs/flow-run/{backfill['id']}", "backfill-artifacts.png", "Artifacts"),
                (
                    f"/artifacts/artifact/{artifact_id(env, ingest['id'], 'ingest-feeds')}",
                    "ingest-feeds-table.png",
                    None,
                ),
                (
                    f"/artifacts/artifact/{artifact_id(env, backfill['id'], 'backfill-progress')}",
                    "backfill-progress.png",
                    None,
                ),
            ],
        )


if __name__ == "__main__":
    main()
