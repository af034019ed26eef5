"""Configuration from the environment, with safe defaults for the embedded SQLite set-up."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIN_SECRET_KEY_LENGTH = 32


class ConfigError(SystemExit):
    """Raised for bad configuration: exits with a clear message, never a stack trace."""

    def __init__(self, message: str):
        super().__init__(f"Configuration error: {message}")
        self.message = message


def _secret_key(instance_path: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        if production and len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters in production"
            )
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set in the environment in production")
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions before the key is written.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def check_database_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a valid database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"DATABASE_URL names '{backend}'; supported are sqlite:/// and postgresql+psycopg://"
        )
    if backend == "postgresql" and parsed.get_driver_name() not in ("psycopg", "psycopg2"):
        raise ConfigError("DATABASE_URL for PostgreSQL must use the psycopg driver")
    if backend == "postgresql" and parsed.get_driver_name() == "psycopg2":
        raise ConfigError("use postgresql+psycopg:// (psycopg 3), not psycopg2")
    return url


def _normalise_postgres(url: str) -> str:
    # "postgresql://" alone would pick psycopg2, which is not installed.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def _int_env(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum or len(raw) > 6:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, not {raw!r}")
    return int(raw)


def load(instance_path: str) -> dict:
    ipath = Path(instance_path)
    ipath.mkdir(parents=True, exist_ok=True)
    production = os.environ.get("PHARMACY_ENV", "development") == "production"
    url = _normalise_postgres(
        os.environ.get("DATABASE_URL") or f"sqlite:///{ipath / 'pharmacy.db'}"
    )
    idle_minutes = int(os.environ.get("SESSION_IDLE_MINUTES", "15"))
    return {
        "PRODUCTION": production,
        "SECRET_KEY": _secret_key(ipath, production),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=idle_minutes),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=12),
        # The cookie lives as long as a sign-in may (absolute limit) and is not re-signed on
        # every request: idle expiry and sign-out are decided by the server-side session row
        # (accounts.load_session), so re-sending the cookie bought nothing but its cost.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "__Host-session" if production else "pharmacy_session",
        "WTF_CSRF_TIME_LIMIT": None,
        "PASSWORD_HASHER": {},  # argon2-cffi defaults: argon2id t=3 m=64MiB p=4
        "PRESCRIPTION_VALID_MONTHS": 12,  # no fill after this many months from writing
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # The inventory page lists lots expiring within this many days.
        "EXPIRY_WARNING_DAYS": int(os.environ.get("EXPIRY_WARNING_DAYS", "60")),
        # Sign-in throttling: failures per user name / per client address within the window.
        "SIGNIN_MAX_FAILURES_PER_ACCOUNT": _int_env("SIGNIN_MAX_FAILURES_PER_ACCOUNT", 5, 1),
        "SIGNIN_MAX_FAILURES_PER_ADDRESS": _int_env("SIGNIN_MAX_FAILURES_PER_ADDRESS", 20, 1),
        "SIGNIN_LOCKOUT_MINUTES": _int_env("SIGNIN_LOCKOUT_MINUTES", 15, 1),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are
        # trusted (0: none, the client address is the socket's). Audited addresses depend on it.
        "PROXY_FIX_HOPS": _int_env("PROXY_FIX_HOPS", 0),
        # API tokens stop working this many days after they are issued.
        "API_TOKEN_DAYS": _int_env("API_TOKEN_DAYS", 90, 1),
        # The zone people read times in (audit trail, reports); empty: the server's zone.
        "TIMEZONE": os.environ.get("PHARMACY_TIMEZONE", ""),
        # Attached documents (scanned prescriptions, certificates of analysis) live outside the
        # database; only an upload to them may be larger than MAX_CONTENT_LENGTH.
        "ATTACHMENTS_DIR": os.environ.get("ATTACHMENTS_DIR") or str(ipath / "attachments"),
        "ATTACHMENT_MAX_BYTES": int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
    }
