"""flows/run_states.py: the final state of a run, by the rules people set alerts on."""

from __future__ import annotations

import logging
import sys

import pytest

from flows.run_states import failure_note, run_state


@pytest.mark.parametrize(
    ("attempted", "failures", "broke", "expected"),
    [
        pytest.param(12, [], None, ("COMPLETED", "Completed", "12 feeds ok"), id="all-ok"),
        pytest.param(
            12,
            ["feeds.example.com/rss (not found 404)"],
            None,
            ("COMPLETED", "Partial", "1 of 12 feeds failed: feeds.example.com/rss (not found 404)"),
            id="one-failed-is-partial",
        ),
        pytest.param(
            12,
            ["a/1 (x)", "b/2 (y)", "c/3 (z)", "d/4 (w)"],
            None,
            ("COMPLETED", "Partial", "4 of 12 feeds failed: a/1 (x), b/2 (y), c/3 (z), ..."),
            id="first-three-named",
        ),
        pytest.param(
            2,
            ["a/1 (x)", "b/2 (y)"],
            None,
            ("FAILED", "Failed", "every feed failed (2 of 2): a/1 (x), b/2 (y)"),
            id="every-feed-failed",
        ),
        pytest.param(
            5,
            [],
            "KeyError: 'x'",
            ("FAILED", "Failed", "pipeline error: KeyError: 'x'"),
            id="newsflow-broke",
        ),
        pytest.param(0, [], None, ("COMPLETED", "Completed", "0 feeds ok"), id="nothing-due"),
    ],
)
def test_run_state(
    attempted: int, failures: list[str], broke: str | None, expected: tuple[str, str, str]
) -> None:
    state = run_state("feed", attempted, failures, broke=broke)
    assert (state.type.value, state.name, state.message) == expected


@pytest.mark.parametrize(
    ("what", "error", "expected"),
    [
        pytest.param("a.example/rss", "not found (404)", "a.example/rss (not found 404)", id="404"),
        pytest.param("a.example/rss", None, "a.example/rss (failed)", id="no-error-text"),
        pytest.param("2021-09-14", "x" * 200, f"2021-09-14 ({'x' * 80})", id="long-error-cut"),
    ],
)
def test_failure_note(what: str, error: str | None, expected: str) -> None:
    assert failure_note(what, error) == expected


def test_a_failed_task_state_logs_no_empty_traceback() -> None:
    """Prefect logs a returned FAILED state with exc_info=True: no ``NoneType: None`` under it."""
    logger = logging.getLogger("prefect.task_runs")
    empty = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "x", None, (None,) * 3)
    assert logger.filter(empty)
    assert logging.Formatter().format(empty) == "x"
    try:
        raise ValueError("boom")
    except ValueError:
        real = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "x", None, sys.exc_info())
    assert logger.filter(real)
    assert "ValueError: boom" in logging.Formatter().format(real)
