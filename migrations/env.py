"""Alembic environment: works under `flask db ...` and under plain `alembic ...`."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import has_app_context

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

_pushed = None
if not has_app_context():
    # Plain `alembic upgrade head`: build the app from the environment (DATABASE_URL).
    from pharmacy import create_app

    _pushed = create_app().app_context()
    _pushed.push()

from pharmacy import models  # noqa: E402,F401  (registers every table)
from pharmacy.extensions import db  # noqa: E402

target_metadata = db.metadata


def _options() -> dict:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_as_batch": True,
        "user_module_prefix": "pharmacy.database.",
    }


def run_migrations_offline() -> None:
    context.configure(url=str(db.engine.url), literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(connection):
    """SQLite ALTERs copy a table and drop the old one; with foreign keys enforced that DROP fails
    as soon as another table's rows point at it (e.g. prescriptions at their formula). So keys are
    off while migrating (the PRAGMA only takes effect outside a transaction, hence the driver
    connection) and every key is checked before the migration commits."""
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        yield False
        return
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield True
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration leaves rows pointing at missing rows: {broken[:5]}")


def _migrate(connection) -> None:
    with _sqlite_foreign_keys_off(connection) as keys_off:
        # With keys off, all steps run in one transaction (SQLite has transactional DDL) so the
        # key check below can still roll everything back.
        extra = {"transactional_ddl": True} if keys_off else {}
        context.configure(connection=connection, **_options(), **extra)
        with context.begin_transaction():
            context.run_migrations()
            if keys_off:
                _check_foreign_keys(connection)
        if keys_off and connection.in_transaction():
            connection.commit()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    with db.engine.connect() as conn:
        _migrate(conn)


try:
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()
finally:
    if _pushed is not None:
        _pushed.pop()
