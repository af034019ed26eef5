"""Reads and exports of patient data leave an audit record: who looked at whose data, when,
from where. Called after the response body is built, in its own unit of work."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from ..database import unit_of_work
from ..services import audit
from ..services.audit_log import PATIENT_ENTITIES  # noqa: F401  (one list, kept importable here)

# Roles that work with patients; an administrator without one of them sees no patient detail.
PATIENT_ROLES = ("pharmacist", "technician", "staff")


def audit_read(action: str, entity: str, entity_id, detail: dict) -> None:
    with unit_of_work() as s:
        audit.record(
            s,
            current_user,
            action,
            "patient_data",
            f"{entity}:{entity_id}",
            None,
            detail,
            ip=request.remote_addr,
        )
