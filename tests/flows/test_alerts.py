"""``newsflow alerts`` without a server: arguments, refusals, and the automations it would make.

Against a real server (install, list, the notifications that arrive): test_prefect_server.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner

from flows.alerts import ALERTS, automation_for, describe_trigger
from flows.cli import main

NEWSFLOW = Path(sys.executable).parent / "newsflow"


def test_install_wants_one_of_webhook_or_block() -> None:
    for args in ([], ["--webhook", "http://127.0.0.1:9/hook", "--block", "slack"]):
        result = CliRunner().invoke(main, ["alerts", "install", *args])
        assert result.exit_code == 2
        assert "give one of --webhook URL or --block NAME" in result.output


def test_alerts_refuse_without_prefect_api_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)  # no profile that could name a server either
    for args in (["install", "--webhook", "http://127.0.0.1:9/hook"], ["list"]):
        result = subprocess.run(
            [str(NEWSFLOW), "alerts", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1
        assert result.stderr.startswith("error: PREFECT_API_URL is not set"), result.stderr


def test_the_automations_pass_the_servers_own_validation() -> None:
    """What the server checks when they are created: the trigger and the Jinja templates."""
    from prefect.server.events.schemas.automations import AutomationCore as ServerAutomation

    block = uuid4()
    for spec in ALERTS:
        sent = automation_for(spec, block).model_dump(mode="json")
        server_side = ServerAutomation.model_validate(sent)
        [action] = server_side.actions
        assert action.type == "send-notification"
        assert sent["trigger"]["expect"] and sent["trigger"]["for_each"] == ["prefect.resource.id"]


def test_the_run_alert_follows_failed_crashed_and_partial_runs_of_newsflows_flows() -> None:
    [runs] = [a for a in ALERTS if a.name == "newsflow: run failed or partial"]
    trigger = automation_for(runs, uuid4()).trigger.model_dump(mode="json")
    assert sorted(trigger["expect"]) == [
        "prefect.flow-run.Crashed",
        "prefect.flow-run.Failed",
        "prefect.flow-run.Partial",
    ]
    assert describe_trigger(trigger) == (
        "prefect.flow-run.{Crashed,Failed,Partial} of flow ingest, backfill, maintenance"
    )
    assert "{{ flow_run.state.message }}" in runs.body and "flow_run|ui_url" in runs.body


@pytest.mark.parametrize(
    ("trigger", "described"),
    [
        ({"type": "event", "expect": ["newsflow.feed.parked"]}, "newsflow.feed.parked"),
        ({"type": "event", "expect": []}, "any event"),
        (
            {"type": "event", "expect": ["a.b", "c.d"], "posture": "Proactive"},
            "no a.b | c.d",
        ),
        ({"type": "compound"}, "compound"),
    ],
)
def test_describe_trigger(trigger: dict[str, object], described: str) -> None:
    assert describe_trigger(trigger) == described
