"""Errors raised by domain rules; each names the field and the rule that was broken."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DomainError(Exception):
    """Base class for rule violations the user can fix."""


class ValidationFailed(DomainError):
    """One or more inputs broke a rule. Carries every bad field, not just the first."""

    def __init__(self, errors: list[FieldError] | FieldError):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls(FieldError(field, message))


class TransitionNotAllowed(DomainError):
    """A status change that the workflow does not permit (HTTP 409)."""
