"""Migration 0002 fills the patient search keys of rows that existed before it."""

from alembic import command
from sqlalchemy import text

from pharmacy.extensions import db
from tests.test_migrations import _alembic_config, _app, empty_database  # noqa: F401


def test_0002_backfills_patient_search_keys(empty_database):  # noqa: F811
    app = _app(empty_database)
    with app.app_context():
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0001")
            conn.execute(
                text(
                    "INSERT INTO patient (first_name, last_name, date_of_birth, sex, address, phone,"
                    " allergies, medications, pregnant, breastfeeding, liver_disease, created_at,"
                    " updated_at) VALUES ('Margaret', 'Ellis', '1961-04-12', 'female', '',"
                    " '(217) 555-0191', '', '', false, false, 'none', CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                )
            )
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0002")
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT name_key, phone_digits FROM patient")).one()
        assert tuple(row) == ("ellis margaret", "2175550191")
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0001")
        db.engine.dispose()
