"""Sign-in with throttling: failures are counted per account and per client address in the
database (so every worker sees them), audited with the address and logged at WARNING.

The password check (Argon2, deliberately slow) runs outside the write transaction; only the
attempt's record takes the write lock.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..database import utcnow
from ..models import SignInAttempt, User
from . import audit
from .passwords import hash_password, verify_password

log = logging.getLogger("pharmacy.security")

WRONG = "Unknown user name or wrong password."
KEEP_ATTEMPTS = timedelta(days=30)  # the audit trail keeps failures for good


@dataclass(frozen=True)
class Throttle:
    per_account: int = 5  # failures of one user name within the window lock that name
    per_address: int = 20  # failures from one client address within the window lock it out
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config) -> Throttle:
        return cls(
            int(config.get("SIGNIN_MAX_FAILURES_PER_ACCOUNT", 5)),
            int(config.get("SIGNIN_MAX_FAILURES_PER_ADDRESS", 20)),
            timedelta(minutes=int(config.get("SIGNIN_LOCKOUT_MINUTES", 15))),
        )


@dataclass(frozen=True)
class Outcome:
    user: User | None
    message: str | None = None
    retry_after: int | None = None  # seconds, when locked out


@lru_cache(maxsize=8)
def _dummy_hash(params_key: tuple) -> str:
    return hash_password("timing-equaliser-" + "x" * 12, dict(params_key))


def _key(username: str) -> str:
    return (username or "").strip().lower()[:60]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def _locked_for(session: Session, username: str, ip: str, policy: Throttle) -> int | None:
    """Seconds until this name or address may try again, or None when it may try now."""
    now = utcnow()
    since = now - policy.window
    last_ok = session.scalar(
        select(func.max(SignInAttempt.at)).where(
            SignInAttempt.username == username, SignInAttempt.succeeded.is_(True)
        )
    )
    account_since = max(since, _aware(last_ok)) if last_ok else since
    checks = (
        (SignInAttempt.username == username, account_since, policy.per_account),
        (SignInAttempt.ip == ip, since, policy.per_address),
    )
    for who, start, limit in checks:
        recent = session.scalars(
            select(SignInAttempt.at)
            .where(who, SignInAttempt.succeeded.is_(False), SignInAttempt.at > start)
            .order_by(SignInAttempt.at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            # Free again once the oldest of the last `limit` failures leaves the window.
            wait = (_aware(recent[-1]) + policy.window - now).total_seconds()
            return max(1, math.ceil(wait))
    return None


def check(
    session: Session, username: str, password: str, ip: str, policy: Throttle, hasher_params
) -> tuple[Outcome, str]:
    """Read-only part: lockout and password. Returns the outcome and why (for the record)."""
    name = _key(username)
    wait = _locked_for(session, name, ip, policy)
    if wait is not None:
        minutes = math.ceil(wait / 60)
        return Outcome(
            None, f"Too many failed sign-ins. Try again in {minutes} minute(s).", wait
        ), "locked"
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        # Verify against a fixed hash so an unknown name costs the same as a wrong password.
        verify_password(
            _dummy_hash(tuple(sorted((hasher_params or {}).items()))), password, hasher_params
        )
        return Outcome(None, WRONG), "unknown user"
    if not verify_password(user.password_hash, password, hasher_params):
        return Outcome(None, WRONG), "wrong password"
    if not user.active:
        return Outcome(None, "This account is disabled. Ask an administrator."), "disabled"
    return Outcome(user), "ok"


def record(session: Session, username: str, ip: str, outcome: Outcome, why: str) -> None:
    """Write side, in the caller's unit of work: the attempt row, and for a failure an audit
    record with the address and a WARNING in the log."""
    name = _key(username)
    if outcome.user is not None:
        # Older attempts of this name no longer count for anything: keep the table small.
        session.execute(
            delete(SignInAttempt).where(
                SignInAttempt.username == name, SignInAttempt.at < utcnow() - KEEP_ATTEMPTS
            )
        )
        session.add(SignInAttempt(username=name, ip=ip, succeeded=True))
        return
    if why != "locked":
        # Tries while locked are not counted, so a lockout ends when its window does.
        session.add(SignInAttempt(username=name, ip=ip, succeeded=False))
    user_id = session.scalar(select(User.id).where(User.username == name))
    audit.record(
        session,
        "anonymous",
        "session.failed",
        "user",
        user_id,
        None,
        {"username": name, "reason": why},
        ip=ip,
    )
    log.warning("sign-in failed: username=%r ip=%s reason=%s", name, ip, why)
