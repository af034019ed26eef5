"""Sign-in attempts: the shared memory behind throttling and lockout across every worker."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base
from .types import Timestamp


class SignInAttempt(Base):
    """One sign-in try. Kept in the database (not in a worker's memory) so that all gunicorn
    workers count the same failures; the audit trail holds the permanent record."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_username_at", "username", "at"),
        Index("ix_sign_in_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[Timestamp]
    username: Mapped[str] = mapped_column(String(60))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
