"""dose model: prescription.dose_mg (mg per administration); strength_mg is the product strength

Before, a prescription's strength_mg held the mg per DOSE, and a liquid batch copied it, so a
1 mg/mL solution for a 4.5 mg dose printed as "4.5 mg/mL". From here on strength_mg is the
strength of the product made (mg per capsule, or for a liquid its concentration in mg/mL) and
the new dose_mg holds the mg per administration.

Existing rows:
- every prescription: dose_mg = the old strength_mg (it was the dose);
- capsules keep strength_mg: the old model had one capsule a dose, so the capsule strength is
  the dose;
- liquids take strength_mg from their formula's concentration, else from the formula of the
  first batch that filled them; a liquid whose concentration cannot be found keeps the old
  figure and, if still open (entered or verified), is put on hold with the reason, so no label
  prints a concentration nobody knows until a pharmacist re-enters it;
- liquid batches take strength_mg from their formula's concentration.

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from pharmacy.database import ExactDecimal

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

LIQUIDS = "('oral_solution', 'oral_suspension')"
_FORMULA_CONC = (
    "(SELECT f.concentration_mg_per_ml FROM formula f WHERE f.id = prescription.formula_id)"
)
_BATCH_CONC = (
    "(SELECT f.concentration_mg_per_ml FROM rx_order o"
    " JOIN dispense d ON d.order_id = o.id JOIN batch b ON b.id = d.batch_id"
    " JOIN formula f ON f.id = b.formula_id"
    " WHERE o.prescription_id = prescription.id AND f.concentration_mg_per_ml IS NOT NULL"
    " ORDER BY d.id LIMIT 1)"
)
HOLD_REASON = (
    "Dose model change (migration 0008): the concentration of this liquid is not recorded; "
    "check the concentration and re-enter the prescription before it is filled."
)


def upgrade():
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dose_mg", ExactDecimal(scale=4), nullable=True))
    # Same column type on both sides, so values copy as stored (scaled integers on SQLite).
    op.execute("UPDATE prescription SET dose_mg = strength_mg")
    op.execute(
        f"UPDATE prescription SET strength_mg = {_FORMULA_CONC} "
        f"WHERE dosage_form IN {LIQUIDS} AND {_FORMULA_CONC} IS NOT NULL"
    )
    op.execute(
        f"UPDATE prescription SET strength_mg = {_BATCH_CONC} "
        f"WHERE dosage_form IN {LIQUIDS} AND ({_FORMULA_CONC} IS NULL) "
        f"AND {_BATCH_CONC} IS NOT NULL"
    )
    op.execute(
        sa.text(
            "UPDATE prescription SET held_from = status, status = 'on_hold', "
            "status_reason = :reason "
            f"WHERE dosage_form IN {LIQUIDS} AND status IN ('entered', 'verified') "
            f"AND ({_FORMULA_CONC} IS NULL) AND ({_BATCH_CONC} IS NULL)"
        ).bindparams(reason=HOLD_REASON)
    )
    op.execute(
        "UPDATE batch SET strength_mg = (SELECT f.concentration_mg_per_ml FROM formula f "
        "WHERE f.id = batch.formula_id) WHERE unit = 'mL' AND (SELECT f.concentration_mg_per_ml "
        "FROM formula f WHERE f.id = batch.formula_id) IS NOT NULL"
    )
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.alter_column(
            "dose_mg", existing_type=ExactDecimal(scale=4), nullable=False
        )


def downgrade():
    # Back to "strength_mg is the dose"; liquid batches cannot get their old figure back from
    # here (it was each batch's prescription dose), so they keep the concentration.
    op.execute("UPDATE prescription SET strength_mg = dose_mg")
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_column("dose_mg")
