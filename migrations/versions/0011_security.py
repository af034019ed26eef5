"""security: sign-in attempts; role grants with granter; API token expiry

Existing API tokens get an expiry 90 days from the upgrade (they had none); existing roles keep
no granter (granted before it was recorded).

Revision ID: 0011
Revises: 0006
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_role", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_user_role_granted_by_id_user_account"),
            "user_account",
            ["granted_by_id"],
            ["id"],
        )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=60), nullable=True))
    expires = datetime.now(UTC) + timedelta(days=90)
    op.get_bind().execute(
        sa.text("UPDATE api_token SET expires_at = :at WHERE expires_at IS NULL").bindparams(
            sa.bindparam("at", type_=sa.DateTime(timezone=True))
        ),
        {"at": expires},
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )

    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempt")),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_attempt_ip_at", ["ip", "at"], unique=False)
        batch_op.create_index("ix_sign_in_attempt_username_at", ["username", "at"], unique=False)


def downgrade():
    op.drop_table("sign_in_attempt")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("user_role", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_user_role_granted_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("granted_at")
        batch_op.drop_column("granted_by_id")
