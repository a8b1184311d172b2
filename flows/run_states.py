"""The final state of a run, by the rules people set alerts on.

- everything attempted worked: ``Completed``;
- some of it failed: a COMPLETED-type state named ``Partial`` whose message counts the failures
  and names the first ones (``3 of 12 feeds failed: feeds.example.com/rss (not found 404), ...``);
- every attempt failed, or newsflow itself broke: ``Failed``, the reason as its message.

The ingest flow counts feeds, a backfill counts days; both hand back their table rows as the
state's data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from prefect import State
from prefect.states import Completed, Failed

#: Failures a state's message names before it says "...".
NAMED_FAILURES = 3
PARTIAL = "Partial"


def run_state(
    noun: str,
    attempted: int,
    failures: Sequence[str],
    *,
    broke: str | None = None,
    data: Any = None,
) -> State[Any]:
    """The state a run of ``attempted`` units (feeds, days) ends in, given what failed.

    ``failures`` describes each failed unit (``failure_note``); ``broke`` is set when
    newsflow's own code failed (a bug, not a feed or a day), which fails the run whatever else
    happened.
    """
    if broke is not None:
        return Failed(message=f"pipeline error: {broke}", data=data)
    if not failures:
        return Completed(message=f"{attempted} {_plural(noun, attempted)} ok", data=data)
    named = ", ".join(failures[:NAMED_FAILURES]) + (
        ", ..." if len(failures) > NAMED_FAILURES else ""
    )
    if len(failures) >= attempted:
        return Failed(
            message=f"every {noun} failed ({len(failures)} of {attempted}): {named}", data=data
        )
    return Completed(
        name=PARTIAL,
        message=f"{len(failures)} of {attempted} {_plural(noun, attempted)} failed: {named}",
        data=data,
    )


class _NoEmptyTraceback(logging.Filter):
    """Drop the ``exc_info`` of a log record that has no exception.

    Prefect logs a task that returned a FAILED state (a feed that failed, nothing raised) with
    ``exc_info=True``, which prints ``NoneType: None`` under the line in the UI's logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is None:
            record.exc_info = None
        return True


def quiet_empty_tracebacks() -> None:
    """Install :class:`_NoEmptyTraceback` on Prefect's task-run logger (once)."""
    task_runs = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, _NoEmptyTraceback) for f in task_runs.filters):
        task_runs.addFilter(_NoEmptyTraceback())


quiet_empty_tracebacks()


def rows_state(noun: str, rows: list[dict[str, Any]]) -> State[Any]:
    """The state of a run whose units are table rows (a backfill's days or files): a row
    whose ``status`` is ``failed`` is a failed unit, named by its ``noun`` column."""
    failed = [r for r in rows if r.get("status") == "failed"]
    return run_state(
        noun, len(rows), [failure_note(r[noun], r.get("error")) for r in failed], data=rows
    )


def failure_note(what: str, error: str | None) -> str:
    """``what (error)`` with the error's own parentheses dropped: ``a/rss (not found 404)``."""
    reason = re.sub(r"[()]", "", error or "failed").strip()
    return f"{what} ({reason[:80]})"


def _plural(noun: str, n: int) -> str:
    return noun if n == 1 else f"{noun}s"
