"""Migration 0012 fills the reversed phone digits of patients that existed before it."""

from alembic import command
from sqlalchemy import text

from pharmacy.extensions import db
from tests.test_migrations import _alembic_config, _app, empty_database  # noqa: F401


def test_0012_backfills_reversed_phone_digits(empty_database):  # noqa: F811
    app = _app(empty_database)
    with app.app_context():
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0006")
            for i, phone in enumerate(("(217) 555-0191", "")):
                conn.execute(
                    text(
                        "INSERT INTO patient (first_name, last_name, date_of_birth, sex, address,"
                        " phone, allergies, medications, pregnant, breastfeeding, liver_disease,"
                        " name_key, phone_digits, created_at, updated_at) VALUES ('M', :last,"
                        " '1961-04-12', 'female', '', :phone, '', '', false, false, 'none', :key,"
                        " :digits, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {
                        "last": f"Ellis{i}",
                        "key": f"ellis{i} m",
                        "phone": phone,
                        "digits": "".join(c for c in phone if c.isdigit()),
                    },
                )
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0012")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT phone_reversed FROM patient ORDER BY id")).all()
        assert [r[0] for r in rows] == ["1910555712", ""]
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0006")
        db.engine.dispose()
