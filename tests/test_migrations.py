"""The Alembic migrations build exactly the schema the models describe, and go down cleanly."""

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from pharmacy import create_app
from pharmacy.extensions import db
from tests.conftest import PG_URL, pg_url_for

ROOT_INI = "alembic.ini"


def _alembic_config(connection) -> Config:
    cfg = Config(ROOT_INI)
    cfg.attributes["connection"] = connection
    cfg.attributes["skip_logging"] = True
    return cfg


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield pg_url_for(schema)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _app(url):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40, "TESTING": True})


def test_single_head():
    heads = ScriptDirectory.from_config(Config(ROOT_INI)).get_heads()
    assert len(heads) == 1


def test_models_and_migrations_agree(empty_database):
    app = _app(empty_database)
    with app.app_context():
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models differ from the migration head: {diff}"
        db.engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(empty_database):
    app = _app(empty_database)
    with app.app_context():
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "base")
        with db.engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert left == set()
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        with db.engine.connect() as conn:
            assert "prescription" in inspect(conn).get_table_names()
        db.engine.dispose()


def test_the_comparison_sees_a_missing_schema(tmp_path):
    """Guards the test above: on an empty database the comparison must report differences."""
    app = _app(f"sqlite:///{tmp_path / 'empty.db'}")
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert any(d[0] == "add_table" for d in diff)
