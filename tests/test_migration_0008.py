"""Migration 0008 (dose model): existing prescriptions keep their dose in dose_mg, and a liquid's
strength becomes the concentration it is made at (issue 10: "4.5 mg/mL" for a 1 mg/mL solution)."""

from decimal import Decimal as D

from alembic import command
from sqlalchemy import bindparam, text

from pharmacy.database import ExactDecimal
from pharmacy.extensions import db
from tests.test_migrations import _alembic_config, _app, empty_database  # noqa: F401

NOW = "CURRENT_TIMESTAMP"


def _q(sql: str, **values):
    stmt = text(sql)
    return stmt.bindparams(
        *(
            bindparam(k, v, type_=ExactDecimal(scale=4)) if isinstance(v, D) else bindparam(k, v)
            for k, v in values.items()
        )
    )


def _seed(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO user_account (id, username, full_name, initials, password_hash, active,"
            f" created_at, password_changed_at) VALUES (1, 'p', 'P P', 'PP', 'x', true, {NOW}, {NOW})"
        )
    )
    conn.execute(
        text(
            "INSERT INTO patient (id, first_name, last_name, date_of_birth, sex, address, phone,"
            " allergies, medications, pregnant, breastfeeding, liver_disease, name_key, phone_digits,"
            f" created_at, updated_at) VALUES (1, 'M', 'E', '1961-04-12', 'female', '', '', '', '',"
            f" false, false, 'none', 'e m', '', {NOW}, {NOW})"
        )
    )
    conn.execute(
        text(
            "INSERT INTO prescriber (id, first_name, last_name, credentials, npi, address, phone,"
            f" created_at, updated_at) VALUES (1, 'H', 'P', 'MD', '1234567893', '', '', {NOW}, {NOW})"
        )
    )
    conn.execute(
        _q(
            "INSERT INTO formula (id, code, version, name, dosage_form, strength_min_mg,"
            " strength_max_mg, concentration_mg_per_ml, overage_percent, bud_category, storage,"
            " container, method, qc_requirements, qc_sample_size, weight_tolerance_percent,"
            " labelling_notes, status, created_by_id, created_at) VALUES (1, 'SOL', 1, 'sol',"
            " 'oral_solution', :lo, :hi, :conc, :zero, 'preserved_aqueous', '', '', '', '', 0, :ten,"
            f" '', 'approved', 1, {NOW})",
            lo=D("0.5"),
            hi=D("4.5"),
            conc=D("1"),
            zero=D("0"),
            ten=D("10"),
        )
    )
    for rx_id, form, formula_id, status in (
        (1, "capsule", None, "verified"),
        (2, "oral_solution", 1, "verified"),
        (3, "oral_solution", None, "entered"),
    ):
        conn.execute(
            _q(
                "INSERT INTO prescription (id, rx_number, patient_id, prescriber_id, formula_id,"
                " date_written, expires_on, dosage_form, strength_mg, strength_basis, quantity,"
                " quantity_unit, doses_per_day, directions, refills_authorized, indication, status,"
                " created_by_id, created_at) VALUES (:id, :num, 1, 1, :formula, '2026-01-01',"
                " '2027-01-01', :form, :strength, 'hcl', :qty, 'x', 1, 'Take', 0, '', :status, 1,"
                f" {NOW})",
                id=rx_id,
                num=f"RX{rx_id}",
                formula=formula_id,
                form=form,
                strength=D("4.5"),
                qty=D("30"),
                status=status,
            )
        )


def test_0008_moves_the_dose_to_dose_mg_and_liquids_to_their_concentration(
    empty_database,  # noqa: F811
):
    app = _app(empty_database)
    with app.app_context():
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0006")
            _seed(conn)
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0008")
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, strength_mg, dose_mg, status, held_from, status_reason"
                    " FROM prescription ORDER BY id"
                ).columns(strength_mg=ExactDecimal(scale=4), dose_mg=ExactDecimal(scale=4))
            ).all()
        cap, sol, unknown = rows
        assert (cap.strength_mg, cap.dose_mg, cap.status) == (D("4.5"), D("4.5"), "verified")
        assert (sol.strength_mg, sol.dose_mg, sol.status) == (D("1"), D("4.5"), "verified")
        # Concentration unknown: held for a pharmacist, never printed as "4.5 mg/mL".
        assert (unknown.status, unknown.held_from) == ("on_hold", "entered")
        assert "concentration of this liquid is not recorded" in unknown.status_reason
        # Outside a transaction, so SQLite's foreign keys can be switched off for the table copies.
        with db.engine.connect() as conn:
            command.downgrade(_alembic_config(conn), "0006")
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0006"
            assert conn.scalar(text("SELECT count(*) FROM prescription")) == 3
            if conn.dialect.name == "sqlite":  # keys are enforced again afterwards
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
