"""flows.arguments: what a task gets, and that Prefect does not walk it on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect.utilities.engine import collect_task_run_inputs_sync, resolve_inputs_sync

from flows.arguments import as_is


class CountedList(list[int]):
    """A list that counts how often something iterates over it."""

    walks = 0

    def __iter__(self) -> Any:
        CountedList.walks += 1
        return super().__iter__()


@dataclass(frozen=True)
class Shared:
    """Stands in for a run's shared objects: nested containers Prefect would walk."""

    states: dict[str, CountedList] = field(
        default_factory=lambda: {f"feed-{n}": CountedList(range(3)) for n in range(50)}
    )


def test_prefect_walks_a_plain_argument() -> None:
    """The control: without as_is, recording a task's inputs iterates every nested list."""
    CountedList.walks = 0
    collect_task_run_inputs_sync(Shared())
    assert CountedList.walks >= 50


def test_an_argument_passed_as_is_is_neither_walked_nor_changed() -> None:
    shared = Shared()
    CountedList.walks = 0
    assert collect_task_run_inputs_sync(as_is(shared)) == set()
    resolved = resolve_inputs_sync({"run": as_is(shared)})
    assert CountedList.walks == 0
    assert resolved["run"] is shared
