"""Who may reach which route: the single place where access is decided.

Every endpoint must appear in POLICY; an endpoint that is not classified is refused
(fail closed), and a test walks app.url_map to make sure nothing is left out.
"""

from __future__ import annotations

PUBLIC = "public"
SIGNED_IN = "signed-in"

PHARMACIST = frozenset({"pharmacist"})
ADMIN = frozenset({"admin"})
CLINICAL = frozenset({"pharmacist", "technician"})
EVERYONE = frozenset({"pharmacist", "technician", "staff", "admin"})
# Balances: the bench sees them; pharmacists and administrators keep them up to date.
EQUIPMENT_VIEW = frozenset({"pharmacist", "technician", "admin"})
EQUIPMENT_EDIT = frozenset({"pharmacist", "admin"})
# The pharmacy floor and front desk: patients, prescriptions, orders, status look-up.
PHARMACY_TEAM = frozenset({"pharmacist", "technician", "staff"})
MANAGERS = frozenset({"pharmacist", "admin"})

POLICY: dict[str, str | frozenset[str]] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.setup": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.tokens": SIGNED_IN,
    "auth.revoke_token": SIGNED_IN,
    "main.index": SIGNED_IN,
    "main.health": PUBLIC,
    "admin.users": ADMIN,
    "admin.new_user": ADMIN,
    "admin.edit_user": ADMIN,
    "scan.verify_label": PHARMACY_TEAM,
    "admin.audit_trail": ADMIN,
    "admin.audit_csv": ADMIN,
    "admin.profile": ADMIN,
    "admin.printers": ADMIN,
    "formulas.index": CLINICAL,
    "formulas.show": CLINICAL,
    "formulas.new": PHARMACIST,
    "formulas.edit": PHARMACIST,
    "formulas.approve": PHARMACIST,
    "formulas.new_version": PHARMACIST,
    "formulas.retire": PHARMACIST,
    "calculator.page": CLINICAL,
    "inventory.overview": CLINICAL,
    "inventory.ingredients": CLINICAL,
    "inventory.ingredient": CLINICAL,
    "inventory.new_ingredient": PHARMACIST,
    "inventory.edit_ingredient": PHARMACIST,
    "inventory.receive_lot": CLINICAL,
    "inventory.lot": CLINICAL,
    "inventory.lot_decision": PHARMACIST,
    "inventory.adjust_lot": CLINICAL,
    "equipment.balances": EQUIPMENT_VIEW,
    "equipment.new_balance": EQUIPMENT_EDIT,
    "equipment.edit_balance": EQUIPMENT_EDIT,
    "batches.index": CLINICAL,
    "batches.new": CLINICAL,
    "batches.show": CLINICAL,
    "batches.weights": CLINICAL,
    "batches.read_balance": CLINICAL,
    "batches.scan_check": CLINICAL,
    "batches.qc": CLINICAL,
    "batches.qc_correct": CLINICAL,
    "batches.api_sign_off": PHARMACIST,
    "batches.release": PHARMACIST,
    "batches.reject": CLINICAL,  # abandoning in progress; a checked batch: pharmacist (service)
    "batches.recall": PHARMACIST,
    "batches.dispense": CLINICAL,
    "batches.fill_all": CLINICAL,
    "batches.accept_lot_potency": PHARMACIST,
    "batches.trace": CLINICAL,
    "batches.trace_csv": CLINICAL,
    "batches.recall_lot": PHARMACIST,
    # Complaints and adverse events: anyone on the floor records one; a pharmacist reviews
    # (and from there traces or recalls); the MedWatch report carries patient data.
    "complaints.index": PHARMACY_TEAM,
    "complaints.new": PHARMACY_TEAM,
    "complaints.show": PHARMACY_TEAM,
    "complaints.review": PHARMACIST,
    "complaints.medwatch": PHARMACIST,
    "api.create_complaint": PHARMACY_TEAM,
    "api.complaint": PHARMACY_TEAM,
    "api.review_complaint": PHARMACIST,
    "api.complaint_medwatch_pdf": PHARMACIST,
    "api.lot_trace": CLINICAL,
    "api.batch_trace": CLINICAL,
    # The JSON API follows the matching UI routes (inventory.*, batches.*).
    "api.receive_lot": CLINICAL,
    "api.lot": CLINICAL,
    "api.lot_decision": PHARMACIST,
    "api.start_batch": CLINICAL,
    "api.batch": CLINICAL,
    "api.batch_weights": CLINICAL,
    "api.batch_qc": CLINICAL,
    "api.batch_qc_correction": CLINICAL,
    "api.batch_api_sign_off": PHARMACIST,
    "api.batch_release": PHARMACIST,
    "api.batch_reject": CLINICAL,  # as batches.reject: a checked batch needs a pharmacist
    "api.batch_dispense": CLINICAL,
    "api.batch_fill_all": CLINICAL,
    "api.lot_potency_acceptance": PHARMACIST,
    "api.capsules": CLINICAL,
    "api.liquids": CLINICAL,
    "api.weight_check": CLINICAL,
    "patients.index": PHARMACY_TEAM,
    "patients.new": PHARMACY_TEAM,
    "patients.edit": PHARMACY_TEAM,
    "prescribers.index": PHARMACY_TEAM,
    "prescribers.new": PHARMACY_TEAM,
    "prescribers.edit": PHARMACY_TEAM,
    "prescriptions.new": PHARMACY_TEAM,
    "prescriptions.show": PHARMACY_TEAM,
    "prescriptions.verify": PHARMACIST,
    "prescriptions.reject": PHARMACIST,
    "prescriptions.refill": PHARMACY_TEAM,
    "prescriptions.change_status": PHARMACY_TEAM,
    "orders.lookup": PHARMACY_TEAM,
    "orders.queue": PHARMACY_TEAM,
    "orders.show": PHARMACY_TEAM,
    "orders.transition": PHARMACY_TEAM,
    "orders.verify_refill": PHARMACIST,
    "orders.final_check": PHARMACIST,
    "orders.hand_out": PHARMACY_TEAM,
    "api.screening_check": PHARMACY_TEAM,
    "api.orders": PHARMACY_TEAM,
    "api.order": PHARMACY_TEAM,
    # The JSON API for the whole path follows the matching pages (patients.*, prescribers.*,
    # prescriptions.*, orders.*, scan.*, printing.*); the services check roles again.
    "api.patients": PHARMACY_TEAM,
    "api.create_patient": PHARMACY_TEAM,
    "api.patient": PHARMACY_TEAM,
    "api.update_patient": PHARMACY_TEAM,
    "api.prescribers": PHARMACY_TEAM,
    "api.create_prescriber": PHARMACY_TEAM,
    "api.prescriber": PHARMACY_TEAM,
    "api.update_prescriber": PHARMACY_TEAM,
    "api.check_prescription": PHARMACY_TEAM,
    "api.create_prescription": PHARMACY_TEAM,
    "api.prescription": PHARMACY_TEAM,
    "api.verify_prescription": PHARMACIST,
    "api.reject_prescription": PHARMACIST,
    "api.hold_prescription": PHARMACY_TEAM,
    "api.resume_prescription": PHARMACY_TEAM,
    "api.cancel_prescription": PHARMACY_TEAM,
    "api.create_refill": PHARMACY_TEAM,
    "api.hold_order": PHARMACY_TEAM,
    "api.resume_order": PHARMACY_TEAM,
    "api.cancel_order": PHARMACY_TEAM,
    "api.scan_label": PHARMACY_TEAM,
    "api.verify_order": PHARMACIST,
    "api.final_check_view": PHARMACIST,
    "api.final_check": PHARMACIST,
    "api.handout_view": PHARMACY_TEAM,
    "api.hand_out": PHARMACY_TEAM,  # counselling accepted / an unscanned label: pharmacist
    "api.order_label_pdf": PHARMACY_TEAM,
    "api.ready_labels_pdf": PHARMACY_TEAM,
    "api.titration_labels_pdf": PHARMACY_TEAM,
    "api.titration_calendar_pdf": PHARMACY_TEAM,
    "api.leaflet_pdf": PHARMACY_TEAM,
    "api.batch_label_pdf": CLINICAL,
    "api.worksheet_pdf": CLINICAL,
    # Printing: the front desk prints dispensing labels (and a titration kit's step labels and
    # calendar, which are dispensing labels and patient information) and leaflets; the bench
    # prints everything; batch records only the bench.
    "printing.dispensing_label": PHARMACY_TEAM,
    "printing.ready_labels": PHARMACY_TEAM,
    "printing.titration_labels": PHARMACY_TEAM,
    "printing.titration_calendar": PHARMACY_TEAM,
    "printing.leaflet": PHARMACY_TEAM,
    "printing.batch_label": CLINICAL,
    "printing.worksheet": CLINICAL,
    # Management reports: the pharmacist in charge and the administrator (figures only).
    "reports.index": MANAGERS,
    "reports.pdf": MANAGERS,
    "reports.csv": MANAGERS,
    "printing.lot_label": CLINICAL,
    # Attached documents follow their owner's page: the original prescription is seen by whoever
    # sees the prescription, a lot's certificate of analysis by the bench.
    "attachments.prescription_upload": PHARMACY_TEAM,
    "attachments.prescription_file": PHARMACY_TEAM,
    "attachments.lot_upload": CLINICAL,
    "attachments.lot_file": CLINICAL,
    # Facility logs: the bench reads temperatures, stores, cleans and checks balances daily;
    # pharmacists decide holds; pharmacists and administrators add units and calibrations.
    "facility.index": EQUIPMENT_VIEW,
    "facility.new_unit": EQUIPMENT_EDIT,
    "facility.unit": EQUIPMENT_VIEW,
    "facility.reading": CLINICAL,
    "facility.place": CLINICAL,
    "facility.decide_hold": PHARMACIST,
    "facility.cleaning": CLINICAL,
    "equipment.balance_log": EQUIPMENT_VIEW,
    "equipment.daily_check": CLINICAL,
    "equipment.calibration": EQUIPMENT_EDIT,
    # The inspector's export holds patients' prescriptions and the whole audit trail.
    "records.export": EQUIPMENT_EDIT,
    # Everyone sees who is trained for what; pharmacists and administrators record training.
    "training.index": EVERYONE,
    "training.record": EQUIPMENT_EDIT,
}


def rule_for(endpoint: str | None) -> str | frozenset[str] | None:
    if endpoint is None:
        return PUBLIC  # unmatched URL: let the 404 handler answer
    return POLICY.get(endpoint)


def allows(rule: str | frozenset[str] | None, roles: frozenset[str] | None) -> bool:
    if rule == PUBLIC:
        return True
    if rule is None or roles is None:
        return False
    if rule == SIGNED_IN:
        return True
    return bool(rule & roles)


def nav_items(roles: frozenset[str]) -> list[tuple[str, str]]:
    """The navigation a user sees: only what their roles can open."""
    items = [
        ("main.index", "Dashboard"),
        ("orders.lookup", "Look-up"),
        ("orders.queue", "Queue"),
        ("prescriptions.new", "New prescription"),
        ("patients.index", "Patients"),
        ("prescribers.index", "Prescribers"),
        ("formulas.index", "Formulas"),
        ("calculator.page", "Calculator"),
        ("batches.index", "Batches"),
        ("batches.trace", "Recall trace"),
        ("complaints.index", "Complaints"),
        ("inventory.overview", "Inventory"),
        ("equipment.balances", "Balances"),
        ("reports.index", "Reports"),
        ("facility.index", "Facility"),
        ("training.index", "Training"),
        ("admin.users", "Users"),
        ("admin.audit_trail", "Audit trail"),
        ("records.export", "Inspector export"),
        ("admin.profile", "Pharmacy"),
    ]
    return [(ep, label) for ep, label in items if allows(POLICY.get(ep), roles)]
