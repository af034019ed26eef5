from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Formula,
    Ingredient,
    IngredientLot,
    Order,
    Patient,
    User,
)


def test_user_create_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "user",
            "create",
            "--username",
            "rx1",
            "--full-name",
            "Rita Xu",
            "--initials",
            "RX",
            "--role",
            "pharmacist",
            "--role",
            "admin",
            "--password",
            "Quiet-orchard-stone-5",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created user rx1" in result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.roles == {"pharmacist", "admin"}
        assert db.session.scalar(select(AuditEvent.actor)) == "cli"


def test_user_create_command_names_the_bad_field(app):
    result = app.test_cli_runner().invoke(
        args=[
            "user",
            "create",
            "--username",
            "rx1",
            "--full-name",
            "Rita Xu",
            "--initials",
            "RX",
            "--role",
            "staff",
            "--password",
            "short",
        ]
    )
    assert result.exit_code == 2
    assert "password: must be at least 12 characters" in result.output
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_demo_data_loads_a_usable_pharmacy_and_refuses_a_set_up_database(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["demo-data"])
    assert again.exit_code == 2
    assert "already set up (Riverside Compounding Pharmacy," in again.output
    with app.app_context():
        roles = set()
        for user in db.session.scalars(select(User)):
            roles |= user.roles
        assert roles == {"pharmacist", "technician", "staff", "admin"}
        assert len(db.session.scalars(select(Patient)).all()) == 3
        codes = {f.code for f in db.session.scalars(select(Formula))}
        assert codes == {"LDN-CAP", "LDN-SOL"}
        assert db.session.scalar(select(Ingredient).where(Ingredient.kind == "api"))
        assert len(db.session.scalars(select(IngredientLot)).all()) == 5
        # No order is ready (or further) without a batch that filled it.
        assert not db.session.scalars(
            select(Order).where(Order.status.in_(("quality_check", "ready", "dispensed")))
        ).all()
        loaded = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "demo.load"))
        assert "password" not in str(loaded.new)


def test_demo_data_refuses_a_pharmacy_set_up_by_hand(app, pharmacy):
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 2
    assert "already set up (Test Compounding Pharmacy, 4 user account(s))" in result.output
    with app.app_context():
        assert db.session.scalar(select(Patient)) is None


def test_demo_data_on_a_brand_new_sqlite_file_creates_the_schema_first(tmp_path):
    from sqlalchemy import create_engine, text

    from pharmacy import create_app
    from tests.support import FAST_HASHER

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "PASSWORD_HASHER": FAST_HASHER,
        }
    )
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "database schema created" in result.output
    with app.app_context():
        statuses = {
            o.prescription.patient.last_name: o.status for o in db.session.scalars(select(Order))
        }
        db.engine.dispose()
    # Ellis's titration waits at verified until a batch is started for it.
    assert statuses == {"Ellis": "verified", "Okoro": "received", "Fernandez": "verified"}
    engine = create_engine(url)
    with engine.connect() as conn:
        head = conn.execute(text("select version_num from alembic_version")).scalar()
    engine.dispose()
    assert head is not None
