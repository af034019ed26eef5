"""Training and competency: who may compound, make the final check, or release a batch.

A person may do a task once they have an initial training for it, and for as long as their most
recent training for it (initial or the yearly refresher) is less than a year old. Pure; the
service passes in the person's records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

TASKS = {
    "compounding": "compounding (start a batch, record weights)",
    "final_check": "the pharmacist's final check",
    "release": "batch release",
}
KINDS = ("initial", "annual")
VALID_FOR = timedelta(days=365)


@dataclass(frozen=True)
class Record:
    task: str
    kind: str
    completed_on: date


def valid_until(completed_on: date) -> date:
    return completed_on + VALID_FOR


def status(records: Iterable[Record], task: str, on: date) -> tuple[bool, str]:
    """(current?, a sentence saying why) for one task on `on`."""
    mine = [r for r in records if r.task == task and r.completed_on <= on]
    if not any(r.kind == "initial" for r in mine):
        return False, f"no initial training for {TASKS[task]} is recorded"
    last = max(r.completed_on for r in mine)
    until = valid_until(last)
    if until < on:
        return False, (
            f"the training for {TASKS[task]} expired on {until.isoformat()} "
            f"(last on {last.isoformat()}; it is repeated every year)"
        )
    return True, f"until {until.isoformat()}"
