"""Status workflows for prescriptions, orders (fills), batches, ingredient lots and master formulas.

Each workflow is data: the moves allowed from each status, which moves need a written reason,
and which need a given role. `Workflow.check` is the one gate every status change goes through.

A hold remembers where it came from: leaving `on_hold` is allowed back to the status it was held
from (the caller passes `held_from`), so a held order resumes in compounding instead of
restarting, and a hold cannot be used to skip a step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pharmacy.domain.errors import TransitionNotAllowed, ValidationFailed

PHARMACIST = "pharmacist"

# A rule key is either a target status (any move into it) or a (from, to) pair.
RuleKey = str | tuple[str, str]


def _label(status: str) -> str:
    return status.replace("_", " ")


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _join(statuses: Iterable[str]) -> str:
    names = sorted(_label(s) for s in statuses)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True)
class Workflow:
    name: str
    initial: str
    moves: Mapping[str, frozenset[str]]
    hold: str | None = None
    needs_reason: frozenset[RuleKey] = frozenset()
    roles: Mapping[RuleKey, frozenset[str]] = field(default_factory=dict)

    @property
    def statuses(self) -> frozenset[str]:
        return frozenset(self.moves)

    def is_final(self, status: str) -> bool:
        return not self.moves[status]

    @property
    def open_statuses(self) -> frozenset[str]:
        return frozenset(s for s in self.moves if not self.is_final(s))

    def targets(self, current: str, held_from: str | None = None) -> frozenset[str]:
        """Where `current` may go next (resuming from a hold needs `held_from`)."""
        self._known(current)
        allowed = self.moves[current]
        if current == self.hold and held_from is not None:
            if self.hold not in self.moves.get(held_from, frozenset()):
                raise ValueError(f"{self.name}: {held_from!r} cannot have been put on hold")
            allowed = allowed | {held_from}
        return allowed

    def reason_required(self, current: str, target: str) -> bool:
        return target in self.needs_reason or (current, target) in self.needs_reason

    def roles_for(self, current: str, target: str) -> frozenset[str] | None:
        """Roles allowed to make the move, or None when any signed-in role may."""
        return self.roles.get((current, target), self.roles.get(target))

    def check(
        self,
        current: str,
        target: str,
        *,
        roles: str | Iterable[str] | None = None,
        reason: str | None = None,
        held_from: str | None = None,
    ) -> None:
        """Raise TransitionNotAllowed for an illegal move or a role that may not make it, and
        ValidationFailed for an unknown target or a missing reason. `roles=None` skips the
        role check (for system moves such as expiry)."""
        if target not in self.moves:
            raise ValidationFailed.single(
                "status", f"{_label(target)!r} is not {_a(self.name)} status"
            )
        allowed = self.targets(current, held_from)
        what = (
            f"{_a(self.name).capitalize()} cannot move from {_label(current)} to {_label(target)}"
        )
        if target not in allowed:
            if not allowed:
                raise TransitionNotAllowed(f"{what}: {_label(current)} is final.")
            hint = ""
            if current == self.hold and held_from is None:
                hint = " (to resume, give the status it was held from)"
            raise TransitionNotAllowed(
                f"{what}; from {_label(current)} it can go to {_join(allowed)}{hint}."
            )
        if roles is not None:
            needed = self.roles_for(current, target)
            have = {roles} if isinstance(roles, str) else set(roles)
            if needed is not None and not (needed & have):
                raise TransitionNotAllowed(f"{what}: only {_a(_join(needed))} may do that.")
        if self.reason_required(current, target) and not (reason and reason.strip()):
            raise ValidationFailed.single(
                "reason", f"moving {_a(self.name)} to {_label(target)} needs a written reason"
            )

    def _known(self, status: str) -> None:
        if status not in self.moves:
            raise ValueError(f"{status!r} is not {_a(self.name)} status")


def _moves(table: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    return {status: frozenset(targets) for status, targets in table.items()}


_PHARMACIST_ONLY = frozenset({PHARMACIST})

PRESCRIPTION = Workflow(
    name="prescription",
    initial="entered",
    moves=_moves(
        {
            "entered": ["verified", "rejected", "on_hold", "cancelled", "expired"],
            "verified": ["on_hold", "cancelled", "expired", "completed"],
            "on_hold": ["cancelled", "expired"],
            "rejected": [],
            "cancelled": [],
            "expired": [],
            "completed": [],  # every authorised fill has been made
        }
    ),
    hold="on_hold",
    needs_reason=frozenset({"rejected", "on_hold", "cancelled"}),
    roles={"verified": _PHARMACIST_ONLY, "rejected": _PHARMACIST_ONLY},
)

ORDER = Workflow(
    name="order",
    initial="received",
    moves=_moves(
        {
            "received": ["verified", "on_hold", "cancelled"],
            # verified -> ready: filled from an already released batch, no compounding needed
            "verified": ["in_compounding", "ready", "on_hold", "cancelled"],
            "in_compounding": ["quality_check", "on_hold", "cancelled"],
            "quality_check": ["ready", "in_compounding", "on_hold", "cancelled"],
            # ready: filled; a pharmacist's final check compares product, label and Rx
            "ready": ["checked", "on_hold", "cancelled"],
            # checked: handed out once its label is printed and scanned, with the counsel offer
            "checked": ["dispensed", "on_hold", "cancelled"],
            "on_hold": ["cancelled"],
            "dispensed": [],  # picked up or shipped; the method is recorded on the order
            "cancelled": [],
        }
    ),
    hold="on_hold",
    needs_reason=frozenset({"on_hold", "cancelled", ("quality_check", "in_compounding")}),
    roles={
        "verified": _PHARMACIST_ONLY,
        ("quality_check", "ready"): _PHARMACIST_ONLY,
        "checked": _PHARMACIST_ONLY,
    },
)

BATCH = Workflow(
    name="batch",
    initial="in_progress",
    moves=_moves(
        {
            # in_progress -> rejected: a failed QC or an abandoned batch is kept, never deleted
            "in_progress": ["awaiting_check", "rejected"],
            "awaiting_check": ["released", "rejected", "in_progress"],
            "released": ["recalled"],
            "rejected": [],
            "recalled": [],
        }
    ),
    needs_reason=frozenset({"rejected", "recalled", ("awaiting_check", "in_progress")}),
    roles={
        "released": _PHARMACIST_ONLY,
        ("awaiting_check", "rejected"): _PHARMACIST_ONLY,
        "recalled": _PHARMACIST_ONLY,
    },
)

LOT = Workflow(
    name="lot",
    initial="quarantined",
    moves=_moves(
        {
            "quarantined": ["released", "rejected"],
            # released -> quarantined: held again while a supplier query is investigated
            "released": ["quarantined", "recalled"],
            "rejected": [],
            "recalled": [],
        }
    ),
    needs_reason=frozenset({"rejected", "recalled", ("released", "quarantined")}),
    roles={
        "released": _PHARMACIST_ONLY,
        "rejected": _PHARMACIST_ONLY,
        "recalled": _PHARMACIST_ONLY,
        ("released", "quarantined"): _PHARMACIST_ONLY,
    },
)

MFR = Workflow(
    name="master formulation record",
    initial="draft",
    moves=_moves(
        {
            # An approved MFR is never edited back to draft; a change is a new version.
            "draft": ["approved", "retired"],
            "approved": ["retired"],
            "retired": [],
        }
    ),
    needs_reason=frozenset({"retired"}),
    roles={"approved": _PHARMACIST_ONLY, "retired": _PHARMACIST_ONLY},
)

WORKFLOWS: dict[str, Workflow] = {
    "prescription": PRESCRIPTION,
    "order": ORDER,
    "batch": BATCH,
    "lot": LOT,
    "mfr": MFR,
}


def check_transition(
    workflow: str | Workflow,
    current: str,
    target: str,
    *,
    roles: str | Iterable[str] | None = None,
    reason: str | None = None,
    held_from: str | None = None,
) -> None:
    wf = WORKFLOWS[workflow] if isinstance(workflow, str) else workflow
    wf.check(current, target, roles=roles, reason=reason, held_from=held_from)
