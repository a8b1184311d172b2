"""Task arguments that Prefect hands over as they are, without walking into them.

Before a task starts, Prefect walks its arguments (lists, dicts, dataclasses, models, to any
depth) looking for futures and states to wait on, once to record the task's inputs and once to
resolve them. newsflow's tasks wait on no future: they take the run's shared objects (every
feed's state, the table of the feeds done so far, a day's entries, a WARC plan), and walking
those made each task's start cost grow with the run. At 2,000 feeds in 100 tasks, more than half
of the ingest flow's event-loop time went there (py-spy, 2026-12-03).
"""

from __future__ import annotations

from typing import TypeVar, cast

from prefect.utilities.annotations import quote

T = TypeVar("T")


def as_is(value: T) -> T:
    """``value`` as a task argument: the task gets it unchanged, and Prefect does not walk it.

    Typed as ``value``'s own type because the task receives exactly that (Prefect unwraps
    ``quote`` before the call); the wrapper only lives between the call and the task's start.
    """
    return cast(T, quote(value))
