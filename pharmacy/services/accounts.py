"""Users, roles, sign-in sessions and API tokens. Services flush; the caller commits."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from ..database import utcnow
from ..domain.errors import FieldError, ValidationFailed
from ..models import ROLES, ApiToken, PharmacyProfile, User, UserRole, UserSession
from . import audit
from .passwords import hash_password, policy_problems, verify_password


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every timestamp we write is UTC.
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True)
class NewUser:
    username: str
    full_name: str
    initials: str
    password: str
    roles: tuple[str, ...]


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def _validate_new_user(session: Session, data: NewUser, pharmacy_name: str = "") -> list:
    errors = []
    username = data.username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        errors.append(FieldError("username", "is required: letters, digits, '.', '_' or '-' only"))
    elif session.scalar(select(User.id).where(User.username == username)):
        errors.append(FieldError("username", f"'{username}' is already taken"))
    if not data.full_name.strip():
        errors.append(FieldError("full_name", "is required"))
    if not data.initials.strip() or len(data.initials.strip()) > 8:
        errors.append(FieldError("initials", "is required, up to 8 characters"))
    if not data.roles:
        errors.append(FieldError("roles", "choose at least one role"))
    unknown = [r for r in data.roles if r not in ROLES]
    if unknown:
        errors.append(FieldError("roles", f"unknown role(s): {', '.join(unknown)}"))
    for problem in policy_problems(data.password, (username, data.full_name, pharmacy_name)):
        errors.append(FieldError("password", problem))
    return errors


def create_user(
    session: Session, actor: User | str | None, data: NewUser, hasher_params: dict | None = None
) -> User:
    profile = session.scalar(select(PharmacyProfile).limit(1))
    errors = _validate_new_user(session, data, profile.name if profile else "")
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=data.username.strip().lower(),
        full_name=data.full_name.strip(),
        initials=data.initials.strip().upper(),
        password_hash=hash_password(data.password, hasher_params),
        active=True,
    )
    granter = actor.id if isinstance(actor, User) else None
    now = utcnow()
    user.role_rows = [
        UserRole(role=r, granted_by_id=granter, granted_at=now) for r in sorted(set(data.roles))
    ]
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, None, _user_view(user))
    return user


def _user_view(user: User) -> dict:
    view = audit.snapshot(user)
    view["roles"] = sorted(user.roles)
    return view


@dataclass(frozen=True)
class ProfileData:
    name: str
    address: str
    phone: str
    licence_number: str


def _validate_profile(data: ProfileData) -> list[FieldError]:
    errors = []
    for field in ("name", "address", "phone", "licence_number"):
        if not getattr(data, field).strip():
            errors.append(FieldError(f"pharmacy.{field}", "is required (printed on every label)"))
    return errors


def first_run(
    session: Session, profile: ProfileData, first: NewUser, hasher_params: dict | None = None
) -> User:
    """Record the pharmacy and its first pharmacist (also admin). Only while no user exists."""
    if user_count(session):
        raise ValidationFailed.single("setup", "the pharmacy is already set up")
    errors = _validate_profile(profile)
    first = NewUser(
        first.username, first.full_name, first.initials, first.password, ("pharmacist", "admin")
    )
    errors += _validate_new_user(session, first, profile.name)
    if errors:
        raise ValidationFailed(errors)
    row = PharmacyProfile(
        name=profile.name.strip(),
        address=profile.address.strip(),
        phone=profile.phone.strip(),
        licence_number=profile.licence_number.strip(),
    )
    session.add(row)
    session.flush()
    user = create_user(session, "first-run", first, hasher_params)
    audit.record(
        session, user, "pharmacy.create", "pharmacy_profile", row.id, None, audit.snapshot(row)
    )
    return user


def start_session(session: Session, user: User, ip: str | None, user_agent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user.id,
            ip=ip,
            user_agent=(user_agent or "")[:255],
        )
    )
    session.flush()
    audit.record(session, user, "session.start", "user", user.id, ip=ip)
    return token


@functools.cache
def _session_statement():
    """Session row, user and roles in one statement (one row per role), built once."""
    s, u, r = UserSession.__table__, User.__table__, UserRole.__table__
    return (
        select(
            s.c.id.label("session_id"),
            s.c.created_at.label("session_created_at"),
            s.c.last_seen_at,
            s.c.revoked_at,
            *(c.label(f"user_{c.name}") for c in u.c),
            r.c.role,
        )
        .join(u, u.c.id == s.c.user_id)
        .outerjoin(r, r.c.user_id == u.c.id)
        .where(s.c.token_hash == bindparam("token_hash"))
    )


@functools.cache
def _user_column_positions(keys: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    return tuple((c.name, keys.index(f"user_{c.name}")) for c in User.__table__.c)


def _user_columns(row) -> tuple[tuple[str, int], ...]:
    return _user_column_positions(tuple(row._fields))


def _attach_user(session: Session, row, roles: frozenset[str]) -> User:
    """The signed-in user as a persistent ORM object built from the row already read, without
    a second load through the ORM (the same object when this session already holds it)."""
    existing = session.identity_map.get(identity_key(User, row.user_id))
    if existing is not None:
        return existing
    # Built as the ORM's own loading builds an object (values straight into its dict, no
    # attribute events): a third cheaper than the constructor, on every signed-in request.
    user = User.__mapper__.class_manager.new_instance()
    user.__dict__.update({name: row[i] for name, i in _user_columns(row)})
    make_transient_to_detached(user)  # as if loaded: no pending changes, nothing to insert
    session.add(user)
    user.session_roles = roles
    return user


def load_session(
    session: Session, token: str, idle: timedelta, absolute: timedelta, *, may_write: bool = True
) -> tuple[User | None, str | None]:
    """The user behind a session token, or None and why (expired, revoked, unknown).

    Without `may_write`, a request that would have to write (last seen, expiry) writes nothing
    and answers (None, "needs-write"): the caller runs it again in a unit of work."""
    rows = session.connection().execute(_session_statement(), {"token_hash": _digest(token)}).all()
    if not rows:
        return None, "unknown"
    row = rows[0]
    if row.revoked_at is not None:
        return None, "revoked"
    now = utcnow()
    expired = (
        now - _aware(row.last_seen_at) > idle or now - _aware(row.session_created_at) > absolute
    )
    # Refresh at most once a minute so reading pages does not write on every request.
    touch = not expired and now - _aware(row.last_seen_at) > timedelta(seconds=60)
    if (expired or touch) and not may_write:
        return None, "needs-write"
    if expired:
        _update_session(session, row.session_id, revoked_at=now, revoked_reason="expired")
        return None, "expired"
    if not row.user_active:
        return None, "revoked"
    if touch:
        _update_session(session, row.session_id, last_seen_at=now)
    user = _attach_user(session, row, frozenset(r.role for r in rows if r.role))
    user.session_token = token
    return user, None


def _update_session(session: Session, session_id: int, **values) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id).values(**values))


def revoke_sessions(
    session: Session, user_id: int, reason: str, except_token: str | None = None
) -> int:
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if except_token:
        stmt = stmt.where(UserSession.token_hash != _digest(except_token))
    return session.execute(stmt).rowcount or 0


def end_session(session: Session, user: User, token: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token))
        .values(revoked_at=utcnow(), revoked_reason="signed out")
    )
    audit.record(session, user, "session.end", "user", user.id)


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    confirm: str,
    current_token: str | None,
    hasher_params: dict | None = None,
) -> None:
    errors = []
    if not verify_password(user.password_hash, current, hasher_params):
        errors.append(FieldError("current_password", "is not your current password"))
    if new != confirm:
        errors.append(FieldError("confirm_password", "does not match the new password"))
    if new == current:
        errors.append(FieldError("new_password", "must differ from the current password"))
    errors += [
        FieldError("new_password", p) for p in policy_problems(new, (user.username, user.full_name))
    ]
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new, hasher_params)
    user.password_changed_at = utcnow()
    # Every other sign-in of this user ends; the one that made the change stays.
    revoked = revoke_sessions(session, user.id, "password changed", except_token=current_token)
    # API tokens were issued under the old password: whoever holds one must be issued anew.
    tokens = revoke_api_tokens(session, user.id, "password changed")
    audit.record(
        session,
        user,
        "user.password_change",
        "user",
        user.id,
        new={"other_sessions_revoked": revoked, "api_tokens_revoked": tokens},
    )


def set_active(session: Session, actor: User, user: User, active: bool, reason: str) -> None:
    if not reason.strip():
        raise ValidationFailed.single("reason", "is required when enabling or disabling a user")
    if actor.id == user.id and not active:
        raise ValidationFailed.single("active", "you cannot disable your own account")
    old = {"active": user.active}
    user.active = active
    if not active:
        revoke_sessions(session, user.id, "user disabled")
    audit.record(
        session,
        actor,
        "user.enable" if active else "user.disable",
        "user",
        user.id,
        old,
        {"active": active},
        reason=reason,
    )


def set_roles(session: Session, actor: User, user: User, roles: tuple[str, ...]) -> None:
    """Grant and withdraw roles. Roles kept keep their original grant; each new one records
    who granted it. Nobody grants a role to themselves (no self-promotion to pharmacist)."""
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValidationFailed.single("roles", "choose at least one known role")
    wanted, held = set(roles), set(user.roles)
    if actor.id == user.id and "admin" not in wanted:
        raise ValidationFailed.single("roles", "you cannot remove your own admin role")
    if actor.id == user.id and wanted - held:
        raise ValidationFailed.single(
            "roles",
            f"you cannot grant yourself a role ({', '.join(sorted(wanted - held))}); "
            "another administrator must",
        )
    now = utcnow()
    user.role_rows = [r for r in user.role_rows if r.role in wanted] + [
        UserRole(role=r, granted_by_id=actor.id, granted_at=now) for r in sorted(wanted - held)
    ]
    session.flush()
    audit.record(
        session,
        actor,
        "user.roles",
        "user",
        user.id,
        {"roles": sorted(held)},
        {"roles": sorted(wanted), "granted": sorted(wanted - held), "granted_by": actor.username},
    )


DEFAULT_TOKEN_LIFETIME = timedelta(days=90)


def create_api_token(
    session: Session,
    actor: User,
    owner: User,
    name: str,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> str:
    """A new token for the signed-in user only: nobody, administrators included, mints a
    token that acts as someone else."""
    if actor.id != owner.id:
        raise ValidationFailed.single("owner", "an API token can only be created by its own user")
    if not name.strip():
        raise ValidationFailed.single("name", "is required (say where the token is used)")
    token = "ldn_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=owner.id,
        name=name.strip()[:80],
        token_hash=_digest(token),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "api_token.create",
        "api_token",
        row.id,
        None,
        {"owner": owner.username, "name": row.name, "expires_at": row.expires_at},
    )
    return token


def revoke_api_tokens(session: Session, user_id: int, reason: str) -> int:
    return (
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        ).rowcount
        or 0
    )


def revoke_api_token(session: Session, actor: User, token_row: ApiToken) -> None:
    if token_row.revoked_at is None:
        token_row.revoked_at, token_row.revoked_reason = utcnow(), "revoked"
        audit.record(session, actor, "api_token.revoke", "api_token", token_row.id)


def user_for_api_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if now >= _aware(row.expires_at):
        return None
    if row.last_used_at is None or now - _aware(row.last_used_at) > timedelta(minutes=5):
        row.last_used_at = now
    return row.user
