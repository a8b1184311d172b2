"""Start a throwaway Prefect server on loopback: for end-to-end tests and the UI screenshots.

Not used by newsflow itself. The server gets its own PREFECT_HOME (so its SQLite database is
apart from any other) and a free port; the scheduler loop is shortened so schedules fire fast.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

PREFECT = Path(sys.executable).parent / "prefect"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_prefect_server(
    home: Path, *, startup_timeout: float = 120, extra_env: dict[str, str] | None = None
) -> Iterator[dict[str, str]]:
    """Run ``prefect server start`` until the block ends; yield the env clients need."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS="5",
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    env.update(extra_env or {})
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.5)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_for_flow_runs(
    env: dict[str, str],
    *,
    deployment: str,
    count: int = 1,
    timeout: float = 300,
    parameters: dict[str, object] | None = None,
    ignore_cancelled: bool = False,
) -> list[dict[str, Any]]:
    """Poll the API until ``count`` runs of ``deployment`` (``flow/name``) are final.

    With ``parameters``, only runs whose parameters include those values count. With
    ``ignore_cancelled``, cancelled runs do not count (a schedule faster than a run makes the
    no-overlap limit cancel the runs that would overlap).
    """
    final_states = {"COMPLETED", "FAILED", "CRASHED"} | (
        set() if ignore_cancelled else {"CANCELLED"}
    )
    api = env["PREFECT_API_URL"]
    flow_name, _, name = deployment.partition("/")
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=api, timeout=10) as client:
        while time.monotonic() < deadline:
            # The deployment may not be registered yet (``newsflow serve`` still starting).
            dep = client.get(f"/deployments/name/{flow_name}/{name}")
            if dep.status_code == 404:
                time.sleep(1)
                continue
            if dep.status_code in RETRY_STATUSES:
                time.sleep(1)
                continue
            dep.raise_for_status()
            runs = _retried(
                client,
                "POST",
                "/flow_runs/filter",
                json={"deployments": {"id": {"any_": [dep.json()["id"]]}}},
            ).json()
            wanted = parameters or {}
            final = [
                r
                for r in runs
                if r["state"]
                and r["state"]["type"] in final_states
                and all(r["parameters"].get(k) == v for k, v in wanted.items())
            ]
            if len(final) >= count:
                return final
            time.sleep(1)
    raise TimeoutError(f"no finished run of {deployment} within {timeout} s")


FINAL_STATE_TYPES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


def start_deployment_run(
    env: dict[str, str], deployment: str, parameters: dict[str, object] | None = None
) -> dict[str, Any]:
    """Create a run of ``deployment`` (``flow/name``) now, as the UI's *Run* button does."""
    flow_name, _, name = deployment.partition("/")
    with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10) as client:
        dep = _retried(client, "GET", f"/deployments/name/{flow_name}/{name}")
        run = _retried(
            client,
            "POST",
            f"/deployments/{dep.json()['id']}/create_flow_run",
            json={"parameters": parameters or {}},
        )
        created: dict[str, Any] = run.json()
        return created


#: Answers a busy Prefect server gives and means "try again": on SQLite it answers 503 while
#: its database is locked by its own services, having rolled the request back.
RETRY_STATUSES = frozenset({429, 502, 503})


def _retried(
    client: httpx.Client, method: str, url: str, *, attempts: int = 6, **kwargs: Any
) -> httpx.Response:
    """Send a request, again after 0.5, 1, 2... s while the server answers it is busy (as
    Prefect's own client does, ``PREFECT_CLIENT_MAX_RETRIES``); raise on any other error."""
    for attempt in range(attempts):
        response = client.request(method, url, **kwargs)
        if response.status_code not in RETRY_STATUSES or attempt == attempts - 1:
            break
        time.sleep(0.5 * 2**attempt)
    response.raise_for_status()
    return response


def wait_for_flow_run(env: dict[str, str], run_id: str, *, timeout: float = 180) -> dict[str, Any]:
    """Poll the API until the flow run is final; return it."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10) as client:
        while time.monotonic() < deadline:
            run: dict[str, Any] = _retried(client, "GET", f"/flow_runs/{run_id}").json()
            if run["state"] and run["state"]["type"] in FINAL_STATE_TYPES:
                return run
            time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} did not finish within {timeout} s")


def task_runs(env: dict[str, str], run_id: str) -> dict[str, dict[str, Any]]:
    """The task runs of a flow run, by name, as the API reports them."""
    with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10) as client:
        found = _retried(
            client, "POST", "/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}
        )
        return {t["name"]: t for t in found.json()}
