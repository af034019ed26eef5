"""Configuration from the environment, and clear refusals when it is wrong."""

import os

import pytest

from pharmacy import create_app
from pharmacy.config import ConfigError
from pharmacy.services.passwords import hash_password


def test_malformed_database_url_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "not a url at all")
    with pytest.raises(ConfigError) as err:
        create_app({"SECRET_KEY": "x" * 40})
    assert "DATABASE_URL is not a valid database URL" in str(err.value)


def test_unsupported_database_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/test")
    with pytest.raises(ConfigError) as err:
        create_app({"SECRET_KEY": "x" * 40})
    assert "supported are sqlite" in str(err.value)


def test_production_refuses_to_start_without_a_real_key(monkeypatch):
    monkeypatch.setenv("PHARMACY_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        create_app()
    assert "SECRET_KEY must be set" in str(err.value)
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError):
        create_app()


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    from pharmacy.config import load

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PHARMACY_ENV", raising=False)
    first = load(str(tmp_path))["SECRET_KEY"]
    assert load(str(tmp_path))["SECRET_KEY"] == first
    assert len(first) >= 32
    assert oct(os.stat(tmp_path / "secret_key").st_mode & 0o777) == "0o600"


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    from pharmacy.config import load

    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = load(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'pharmacy.db'}"
    assert cfg["SESSION_IDLE_TIMEOUT"].total_seconds() == 15 * 60


def test_sqlite_pragmas(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    from pharmacy.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_production_password_hash_parameters():
    assert hash_password("Some-long-passphrase-1").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
