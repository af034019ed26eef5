import pytest

from pharmacy.domain.errors import TransitionNotAllowed, ValidationFailed
from pharmacy.domain.lifecycle import (
    BATCH,
    LOT,
    MFR,
    ORDER,
    PRESCRIPTION,
    WORKFLOWS,
    check_transition,
)

PHARMACIST = "pharmacist"
TECH = "technician"


def test_order_happy_path_compounded():
    path = [
        "received",
        "verified",
        "in_compounding",
        "quality_check",
        "ready",
        "checked",
        "dispensed",
    ]
    for current, target in zip(path, path[1:], strict=False):
        ORDER.check(current, target, roles=PHARMACIST)
    assert ORDER.initial == "received"
    assert ORDER.is_final("dispensed")


def test_order_filled_from_released_stock_skips_compounding():
    ORDER.check("verified", "ready", roles=TECH)


@pytest.mark.parametrize(
    "current,target",
    [
        ("received", "in_compounding"),  # verification cannot be skipped
        ("received", "ready"),
        ("in_compounding", "ready"),  # quality check cannot be skipped
        ("verified", "dispensed"),
        ("dispensed", "cancelled"),
        ("cancelled", "received"),
        ("ready", "ready"),
        ("ready", "dispensed"),  # the pharmacist's final check cannot be skipped
        ("on_hold", "dispensed"),
    ],
)
def test_order_illegal_moves_are_refused(current, target):
    with pytest.raises(TransitionNotAllowed):
        ORDER.check(current, target, roles=PHARMACIST, reason="x")


def test_illegal_move_message_names_the_statuses_and_the_options():
    with pytest.raises(TransitionNotAllowed) as exc:
        ORDER.check("received", "ready")
    assert str(exc.value) == (
        "An order cannot move from received to ready; "
        "from received it can go to cancelled, on hold or verified."
    )
    with pytest.raises(TransitionNotAllowed, match="dispensed is final"):
        ORDER.check("dispensed", "on_hold", reason="x")


def test_only_a_pharmacist_verifies_an_order():
    with pytest.raises(TransitionNotAllowed) as exc:
        ORDER.check("received", "verified", roles=TECH)
    assert str(exc.value).endswith("only a pharmacist may do that.")
    ORDER.check("received", "verified", roles=[TECH, PHARMACIST])  # a user may hold several roles
    ORDER.check("received", "verified")  # roles=None: system move, no role check


def test_releasing_an_order_after_quality_check_needs_a_pharmacist():
    with pytest.raises(TransitionNotAllowed):
        ORDER.check("quality_check", "ready", roles=TECH)
    ORDER.check("quality_check", "ready", roles=PHARMACIST)


@pytest.mark.parametrize(
    "status", ["received", "verified", "in_compounding", "quality_check", "ready", "checked"]
)
def test_hold_and_cancel_from_every_open_order_state_need_a_reason(status):
    for target in ("on_hold", "cancelled"):
        with pytest.raises(ValidationFailed) as exc:
            ORDER.check(status, target, roles=TECH, reason="  ")
        assert exc.value.errors[0].field == "reason"
        ORDER.check(status, target, roles=TECH, reason="prescriber query")


def test_resume_from_hold_returns_to_where_it_was_held():
    ORDER.check("on_hold", "in_compounding", held_from="in_compounding")
    assert ORDER.targets("on_hold", held_from="ready") == {"ready", "cancelled"}
    with pytest.raises(TransitionNotAllowed, match="give the status it was held from"):
        ORDER.check("on_hold", "in_compounding")
    # A hold cannot be used to jump ahead.
    with pytest.raises(TransitionNotAllowed):
        ORDER.check("on_hold", "ready", held_from="received")
    with pytest.raises(ValueError):
        ORDER.targets("on_hold", held_from="dispensed")


def test_only_a_pharmacist_makes_the_final_check():
    for roles in (TECH, "staff"):
        with pytest.raises(TransitionNotAllowed, match="only a pharmacist"):
            ORDER.check("ready", "checked", roles=roles)
    ORDER.check("ready", "checked", roles=PHARMACIST)
    ORDER.check("checked", "dispensed", roles="staff")  # staff hand out a checked order


def test_failed_quality_check_goes_back_to_compounding_with_a_reason():
    with pytest.raises(ValidationFailed):
        ORDER.check("quality_check", "in_compounding")
    ORDER.check("quality_check", "in_compounding", reason="capsule 4 at 112%")
    ORDER.check("verified", "in_compounding")  # the normal start needs none


def test_unknown_target_is_a_validation_error_naming_status():
    with pytest.raises(ValidationFailed) as exc:
        ORDER.check("received", "shipped")
    assert exc.value.errors[0].field == "status"
    assert "not an order status" in exc.value.errors[0].message


def test_prescription_workflow():
    PRESCRIPTION.check("entered", "verified", roles=PHARMACIST)
    PRESCRIPTION.check("entered", "rejected", roles=PHARMACIST, reason="illegible")
    PRESCRIPTION.check("verified", "expired")
    PRESCRIPTION.check("verified", "completed")
    PRESCRIPTION.check("on_hold", "entered", held_from="entered")
    with pytest.raises(TransitionNotAllowed):
        PRESCRIPTION.check("entered", "verified", roles=TECH)
    with pytest.raises(TransitionNotAllowed):
        PRESCRIPTION.check("rejected", "verified", roles=PHARMACIST)
    with pytest.raises(TransitionNotAllowed):
        PRESCRIPTION.check("expired", "verified", roles=PHARMACIST)


def test_batch_workflow_and_pharmacist_release():
    BATCH.check("in_progress", "awaiting_check", roles=TECH)
    BATCH.check("awaiting_check", "released", roles=PHARMACIST)
    BATCH.check("in_progress", "rejected", roles=TECH, reason="failed weight check")
    BATCH.check("released", "recalled", roles=PHARMACIST, reason="lot recall")
    with pytest.raises(TransitionNotAllowed):
        BATCH.check("awaiting_check", "released", roles=TECH)
    with pytest.raises(TransitionNotAllowed):
        BATCH.check("awaiting_check", "rejected", roles=TECH, reason="x")
    with pytest.raises(TransitionNotAllowed):
        BATCH.check("in_progress", "released", roles=PHARMACIST)
    with pytest.raises(TransitionNotAllowed):
        BATCH.check("rejected", "released", roles=PHARMACIST)


def test_lot_workflow():
    assert LOT.initial == "quarantined"
    LOT.check("quarantined", "released", roles=PHARMACIST)
    LOT.check("quarantined", "rejected", roles=PHARMACIST, reason="assay 96%")
    with pytest.raises(ValidationFailed):
        LOT.check("quarantined", "rejected", roles=PHARMACIST)
    with pytest.raises(TransitionNotAllowed):
        LOT.check("quarantined", "released", roles=TECH)
    with pytest.raises(TransitionNotAllowed):
        LOT.check("rejected", "released", roles=PHARMACIST)


def test_mfr_workflow():
    MFR.check("draft", "approved", roles=PHARMACIST)
    MFR.check("approved", "retired", roles=PHARMACIST, reason="superseded by v2")
    with pytest.raises(TransitionNotAllowed):
        MFR.check("approved", "draft", roles=PHARMACIST)
    with pytest.raises(TransitionNotAllowed, match="A master formulation record cannot"):
        MFR.check("retired", "approved", roles=PHARMACIST)


def test_check_transition_by_name():
    check_transition("lot", "quarantined", "released", roles=PHARMACIST)
    with pytest.raises(TransitionNotAllowed):
        check_transition("mfr", "draft", "retired", roles=TECH, reason="x")


@pytest.mark.parametrize("workflow", list(WORKFLOWS.values()), ids=list(WORKFLOWS))
def test_tables_are_consistent(workflow):
    assert workflow.initial in workflow.statuses
    for targets in workflow.moves.values():
        assert targets <= workflow.statuses
    # Every status is reachable from the initial one (resume from hold aside).
    seen, todo = {workflow.initial}, [workflow.initial]
    while todo:
        for nxt in workflow.moves[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == workflow.statuses
    assert workflow.open_statuses == {s for s in workflow.statuses if workflow.moves[s]}
