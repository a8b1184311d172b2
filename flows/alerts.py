"""``newsflow alerts``: Prefect automations that tell a person when a run or a feed goes wrong.

``install`` creates (or updates, found by name) three automations on the server at
``PREFECT_API_URL``, each sending a notification through one notification block:

- a flow run of ``ingest``, ``backfill`` or ``maintenance`` entering ``Failed``, ``Crashed`` or
  ``Partial`` (Prefect's ``prefect.flow-run.<state name>`` events);
- a feed being parked (newsflow's ``newsflow.feed.parked`` event);
- a feed's extraction health dropping (``newsflow.extraction-health.dropped``).

The block is one the user made (``--block NAME``: Slack, email, ...) or a webhook block that
``--webhook URL`` creates or updates under the name ``newsflow-alerts`` (a POST with a JSON body:
``subject``, ``body``, and ``text``, the two together, which Slack- and Mattermost-style incoming
webhooks show as the message). Running ``install`` again with the same arguments changes
nothing. The notification's text is a Jinja template that Prefect's server renders when the
automation fires: the run's name, its state and message, and a link to the run in the UI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ingest.errors import ConfigError

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.events.schemas.automations import AutomationCore

FLOWS = ("ingest", "backfill", "maintenance")
RUN_STATES = ("Failed", "Crashed", "Partial")
WEBHOOK_BLOCK = "newsflow-alerts"
NAME_PREFIX = "newsflow: "

#: The run's page in the UI. Prefect's ``ui_url`` filter links to the classic UI
#: (``/runs/flow-run/ID``); the UI that ``http://HOST:4200`` opens is the new one under ``/v2/``,
#: so the link goes there unless the server's ``PREFECT_UI_URL`` already points into it.
RUN_LINK = (
    "{% set link = flow_run|ui_url %}"
    "{% if link and '/v2/' not in link %}"
    "{% set link = link|replace('/runs/flow-run/', '/v2/runs/flow-run/') %}"
    "{% endif %}"
    "{{ link }}"
)

#: What a run alert says: the run, its state and message (Partial: "3 of 12 feeds failed: ..."),
#: where it ran from, and the run's page in the UI.
RUN_SUBJECT = "newsflow: {{ flow_run.name }} is {{ flow_run.state.name }}"
RUN_BODY = (
    "Flow run {{ flow_run.name }} ({{ flow.name }}) ended {{ flow_run.state.name }}: "
    "{{ flow_run.state.message }}\n"
    "{% if deployment %}Deployment: {{ flow.name }}/{{ deployment.name }}\n{% endif %}"
    "Run: " + RUN_LINK
)

#: The feed events carry the feed in their payload; the run that emitted them is a related
#: resource (absent when someone emits the event outside a run).
_RUN_LINE = "{% if flow_run %}\nRun: {{ flow_run.name }} " + RUN_LINK + "{% endif %}"
PARKED_SUBJECT = "newsflow: feed parked: {{ event.payload.feed }}"
PARKED_BODY = (
    "Feed {{ event.payload.feed }} is parked ({{ event.payload.consecutive_failures }} "
    "failure{% if event.payload.consecutive_failures != 1 %}s{% endif %} in a row), "
    "last error: {{ event.payload.message }}\n"
    "It is not fetched again until `newsflow feeds reset {{ event.payload.feed }}`." + _RUN_LINE
)
HEALTH_SUBJECT = "newsflow: extraction health dropped: {{ event.payload.feed }}"
HEALTH_BODY = (
    "Extraction health of feed {{ event.payload.feed }} dropped: {{ event.payload.problem }}"
    + _RUN_LINE
)

#: The JSON body the webhook block POSTs; Prefect fills in {{subject}} and {{body}}.
WEBHOOK_JSON = {"subject": "{{subject}}", "body": "{{body}}", "text": "{{subject}}\n{{body}}"}


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """One automation newsflow installs."""

    name: str
    description: str
    expect: tuple[str, ...]
    match: Mapping[str, str]
    match_related: Mapping[str, str | list[str]]
    subject: str
    body: str


ALERTS = (
    AlertSpec(
        name=NAME_PREFIX + "run failed or partial",
        description=(
            "A flow run of ingest, backfill or maintenance entered Failed, Crashed or Partial "
            "(some feeds or days failed)."
        ),
        expect=tuple(f"prefect.flow-run.{state}" for state in RUN_STATES),
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(FLOWS)},
        subject=RUN_SUBJECT,
        body=RUN_BODY,
    ),
    AlertSpec(
        name=NAME_PREFIX + "feed parked",
        description="A feed failed too often (or is gone) and is no longer fetched.",
        expect=("newsflow.feed.parked",),
        match={"prefect.resource.id": "newsflow.feed.*"},
        match_related={},
        subject=PARKED_SUBJECT,
        body=PARKED_BODY,
    ),
    AlertSpec(
        name=NAME_PREFIX + "extraction health dropped",
        description=(
            "A feed's share of articles with a date, an author or a body over 100 words "
            "fell sharply."
        ),
        expect=("newsflow.extraction-health.dropped",),
        match={"prefect.resource.id": "newsflow.feed.*"},
        match_related={},
        subject=HEALTH_SUBJECT,
        body=HEALTH_BODY,
    ),
)


@dataclass(frozen=True, slots=True)
class Installed:
    """What ``install`` did: the block used and each automation's fate."""

    block: str
    block_change: str  # "created", "updated", "unchanged" or "existing" (--block)
    automations: list[tuple[str, str]]  # (name, "created" | "updated" | "unchanged")


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One automation as ``newsflow alerts list`` shows it."""

    name: str
    trigger: str
    action: str
    enabled: bool


def api_url() -> str:
    """The server's API URL from Prefect's settings (environment or profile), else refuse."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ConfigError(
            "PREFECT_API_URL is not set: alerts live on a Prefect server; start one with "
            "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    return str(url)


def automation_for(spec: AlertSpec, block_document_id: UUID) -> AutomationCore:
    """The automation of one alert, notifying through the given block."""
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=spec.name,
        description=spec.description,
        enabled=True,
        tags=["newsflow"],
        trigger=EventTrigger(
            expect=set(spec.expect),
            match=dict(spec.match),
            match_related=dict(spec.match_related),
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=0,  # type: ignore[arg-type]
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id, subject=spec.subject, body=spec.body
            )
        ],
    )


async def install(webhook: str | None = None, block: str | None = None) -> Installed:
    """Create or update the block (``webhook``) and the automations; say what changed."""
    if (webhook is None) == (block is None):
        raise ConfigError("give either --webhook URL or --block NAME")
    server = api_url()
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        await _reachable(client, server)
        if webhook is not None:
            block_id, block_change = await _webhook_block(client, webhook)
            block_name = WEBHOOK_BLOCK
        else:
            assert block is not None
            block_id, block_name = await _notification_block(client, block, server)
            block_change = "existing"
        done = [
            (spec.name, await _upsert(client, automation_for(spec, block_id))) for spec in ALERTS
        ]
    return Installed(block_name, block_change, done)


async def list_alerts(every: bool = False) -> list[AlertRow]:
    """newsflow's automations (``every``: all of the server's), by name."""
    server = api_url()
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        await _reachable(client, server)
        automations = await client.read_automations()
        blocks: dict[UUID, str] = {}
        rows = []
        for automation in sorted(automations, key=lambda a: a.name):
            if not every and not automation.name.startswith(NAME_PREFIX):
                continue
            rows.append(
                AlertRow(
                    automation.name,
                    describe_trigger(automation.trigger.model_dump(mode="json")),
                    "; ".join(
                        [
                            await _describe_action(client, a.model_dump(mode="json"), blocks)
                            for a in automation.actions
                        ]
                    ),
                    automation.enabled,
                )
            )
    return rows


def describe_trigger(trigger: Mapping[str, Any]) -> str:
    """A trigger in a line: ``prefect.flow-run.{Crashed,Failed,Partial} of flow ingest, ...``."""
    if trigger.get("type") != "event":
        return str(trigger.get("type", "?"))
    expect = sorted(trigger.get("expect") or [])
    prefixes = {e.rpartition(".")[0] for e in expect}
    if len(expect) > 1 and len(prefixes) == 1:
        text = f"{prefixes.pop()}.{{{','.join(e.rpartition('.')[2] for e in expect)}}}"
    else:
        text = " | ".join(expect) or "any event"
    related = trigger.get("match_related") or {}
    if isinstance(related, Mapping) and related.get("prefect.resource.role"):
        names = related.get("prefect.resource.name", "*")
        names = ", ".join(names) if isinstance(names, list) else names
        text += f" of {related['prefect.resource.role']} {names}"
    if trigger.get("posture") == "Proactive":
        text = "no " + text
    return text


async def _describe_action(
    client: PrefectClient, action: Mapping[str, Any], blocks: dict[UUID, str]
) -> str:
    if action.get("type") != "send-notification":
        return str(action.get("type", "?"))
    block_id = UUID(str(action["block_document_id"]))
    if block_id not in blocks:
        try:
            doc = await client.read_block_document(block_id, include_secrets=False)
            slug = doc.block_type.slug if doc.block_type else "?"
            blocks[block_id] = f"{slug}/{doc.name}"
        except Exception:  # deleted since: say so rather than fail the listing
            blocks[block_id] = f"missing block {block_id}"
    return f"notify via {blocks[block_id]}"


async def _reachable(client: PrefectClient, server: str) -> None:
    import httpx

    try:
        error = await client.api_healthcheck()
    except httpx.HTTPError as exc:  # pragma: no cover - api_healthcheck catches these
        error = exc
    if error is not None:
        raise ConfigError(f"cannot reach the Prefect server at {server}: {error}")


async def _webhook_block(client: PrefectClient, url: str) -> tuple[UUID, str]:
    """Create or update the ``newsflow-alerts`` webhook block; its id and what changed."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--webhook needs an http:// or https:// URL, not {url!r}")
    wanted = CustomWebhookNotificationBlock(
        name="newsflow",
        url=url,
        method="POST",
        json_data=dict(WEBHOOK_JSON),
        headers=None,
        cookies=None,
    )
    try:
        existing = await CustomWebhookNotificationBlock.aload(WEBHOOK_BLOCK, client=client)
    except ValueError:  # not there yet
        existing = None
    if existing is not None and existing._block_document_id is not None:
        same = ("name", "url", "method", "json_data", "params", "form_data", "headers")
        if all(getattr(existing, f) == getattr(wanted, f) for f in same):
            return existing._block_document_id, "unchanged"
    block_id = await wanted.asave(WEBHOOK_BLOCK, overwrite=True, client=client)
    return block_id, "created" if existing is None else "updated"


async def _notification_block(client: PrefectClient, name: str, server: str) -> tuple[UUID, str]:
    """The id and ``type/name`` of the notification block called ``name`` (or ``type/name``)."""
    slug, _, plain = name.rpartition("/")
    response = await client.request(
        "POST",
        "/block_documents/filter",
        json={
            "block_documents": {"name": {"any_": [plain]}, "is_anonymous": {"eq_": False}},
            "include_secrets": False,
        },
    )
    response.raise_for_status()
    found = [d for d in response.json() if not slug or d["block_type"]["slug"] == slug]
    if not found:
        raise ConfigError(
            f"no block named {name!r} on the Prefect server at {server}: create one in the UI "
            "(Blocks, e.g. Slack Webhook) or use --webhook URL"
        )
    if len(found) > 1:
        kinds = ", ".join(f"{d['block_type']['slug']}/{plain}" for d in found)
        raise ConfigError(f"several blocks are named {plain!r}: say which one ({kinds})")
    [doc] = found
    if "notify" not in (doc.get("block_schema") or {}).get("capabilities", []):
        raise ConfigError(
            f"block {doc['block_type']['slug']}/{plain} is not a notification block "
            "(Slack, email, Microsoft Teams, a webhook, ...)"
        )
    return UUID(doc["id"]), f"{doc['block_type']['slug']}/{plain}"


async def _upsert(client: PrefectClient, wanted: AutomationCore) -> str:
    """Create the automation, or bring the one of that name to ``wanted``; what was done."""
    found = await client.read_automations_by_name(wanted.name)
    if not found:
        await client.create_automation(wanted)
        return "created"
    first, *extra = sorted(found, key=lambda a: str(a.id))
    for duplicate in extra:  # one of each name: a second install never made these
        await client.delete_automation(duplicate.id)
    if _comparable(first) == _comparable(wanted) and not extra:
        return "unchanged"
    await client.update_automation(first.id, wanted)
    return "updated"


def _comparable(automation: AutomationCore) -> dict[str, Any]:
    data = automation.model_dump(
        mode="json",
        include={"name", "description", "enabled", "tags", "trigger", "actions"},
    )
    data["trigger"].pop("id", None)
    for key in ("expect", "after", "for_each"):
        if isinstance(data["trigger"].get(key), list):
            data["trigger"][key] = sorted(data["trigger"][key])
    return data


def rows_for_table(rows: Sequence[AlertRow]) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "trigger": r.trigger, "action": r.action, "enabled": r.enabled}
        for r in rows
    ]
