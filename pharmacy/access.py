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
    "admin.user_token": ADMIN,
    "admin.audit_trail": ADMIN,
    "admin.profile": ADMIN,
    "formulas.index": CLINICAL,
    "formulas.show": CLINICAL,
    "formulas.new": PHARMACIST,
    "formulas.edit": PHARMACIST,
    "formulas.approve": PHARMACIST,
    "formulas.new_version": PHARMACIST,
    "formulas.retire": PHARMACIST,
    "calculator.page": CLINICAL,
    "api.capsules": CLINICAL,
    "api.liquids": CLINICAL,
    "api.weight_check": CLINICAL,
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
        ("formulas.index", "Formulas"),
        ("calculator.page", "Calculator"),
        ("admin.users", "Users"),
        ("admin.audit_trail", "Audit trail"),
        ("admin.profile", "Pharmacy"),
    ]
    return [(ep, label) for ep, label in items if allows(POLICY.get(ep), roles)]
