"""What the label and the compounding record say, from the formula and the calculation.

Pure text rules: storage that follows the USP <795> BUD category, the formula's labelling
notes together with the engine's auxiliary notes, and the formula's method as numbered steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .calc.data import BUD_CATEGORIES, STORAGE_FRIDGE

REFRIGERATE = "Refrigerate (2-8 °C). Do not freeze."
_FRIDGE = re.compile(r"refrigerat|fridge|2\s*(-|–|to)\s*8\s*°?\s*C", re.IGNORECASE)
_ROOM = re.compile(r"room\s+temp|\b(20|25)\s*(-|–|to)\s*25\s*°?\s*C|\bambient\b", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def requires_refrigeration(bud_category: str | None) -> bool:
    category = BUD_CATEGORIES.get(bud_category or "")
    return category is not None and category.storage == STORAGE_FRIDGE


def storage_conflict(bud_category: str | None, storage: str | None) -> str | None:
    """Why a formula's storage text contradicts its BUD category, or None."""
    if requires_refrigeration(bud_category) and _ROOM.search(storage or ""):
        return (
            "a non-preserved aqueous preparation keeps its 14-day BUD only in a refrigerator "
            "(USP <795>); the storage text allows room temperature"
        )
    return None


def label_storage(bud_category: str | None, formula_storage: str | None) -> str:
    """Storage for the label: the BUD category's requirement, with the formula's detail.

    A non-preserved aqueous preparation gets its 14-day BUD only in a refrigerator (USP <795>),
    so the label says so even if the formula's text does not; a formula text that allows room
    temperature for it is not printed. Other categories allow room temperature or a fridge,
    and the formula's more specific text (or the category's) is printed.
    """
    text = " ".join((formula_storage or "").split())
    if requires_refrigeration(bud_category):
        if text and _ROOM.search(text):
            return REFRIGERATE
        if text and _FRIDGE.search(text):
            return text
        return f"{REFRIGERATE} {text}".strip()
    if text:
        return text
    category = BUD_CATEGORIES.get(bud_category or "")
    return category.storage if category is not None else ""


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def label_notes(
    labelling_notes: str | None, auxiliary_notes: Iterable[str] = ()
) -> tuple[str, ...]:
    """The formula's labelling notes (one a line) and the engine's notes, each said once."""
    notes: list[str] = []
    seen: set[str] = set()
    for note in [*(_NUMBERING.sub("", n) for n in _lines(labelling_notes)), *auxiliary_notes]:
        key = re.sub(r"[^a-z0-9]", "", note.lower())
        if note.strip() and key not in seen:
            seen.add(key)
            notes.append(note.strip())
    return tuple(notes)


def method_steps(method: str | None) -> tuple[str, ...]:
    """The formula's method as steps: one a line, the writer's own numbering removed (the
    record numbers them). In a numbered method an unnumbered line continues its step."""
    lines = _lines(method)
    numbered = any(_NUMBERING.match(line) for line in lines)
    steps: list[str] = []
    for line in lines:
        text = _NUMBERING.sub("", line)
        if steps and numbered and not _NUMBERING.match(line):
            steps[-1] = f"{steps[-1]} {text}"
        elif text:
            steps.append(text)
    return tuple(steps)
