"""Alembic environment: works under `flask db ...` and under plain `alembic ...`."""

from __future__ import annotations

import logging
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


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_options())
        with context.begin_transaction():
            context.run_migrations()
        return
    with db.engine.connect() as conn:
        context.configure(connection=conn, **_options())
        with context.begin_transaction():
            context.run_migrations()


try:
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()
finally:
    if _pushed is not None:
        _pushed.pop()
