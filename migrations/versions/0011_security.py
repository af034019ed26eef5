"""security: sign-in attempts; role grants with granter; API token expiry; audit hash chain

The audit trail becomes tamper-evident: every existing row is hashed into the chain (in id
order), the chain head is recorded, and triggers refuse UPDATE, DELETE and TRUNCATE of
audit_event on PostgreSQL and SQLite.

Existing API tokens get an expiry 90 days from the upgrade (they had none); existing roles keep
no granter (granted before it was recorded).

Revision ID: 0011
Revises: 0010
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _chain_existing_rows(bind) -> None:
    from types import SimpleNamespace

    from pharmacy.services.audit import GENESIS, row_hash

    events = sa.table(
        "audit_event",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("user_id", sa.Integer),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("old", sa.JSON),
        sa.column("new", sa.JSON),
        sa.column("reason", sa.Text),
        sa.column("ip", sa.String),
        sa.column("chain_hash", sa.String),
    )
    previous, last_id = GENESIS, 0
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        previous, last_id = row_hash(previous, SimpleNamespace(**row)), row["id"]
        bind.execute(events.update().where(events.c.id == row["id"]).values(chain_hash=previous))
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer),
        sa.column("last_id", sa.Integer),
        sa.column("last_hash", sa.String),
    )
    bind.execute(head.insert().values(id=1, last_id=last_id, last_hash=previous))


def upgrade():
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    _chain_existing_rows(bind)
    from pharmacy.models.audit import POSTGRES_TRIGGERS, SQLITE_TRIGGERS

    for sql in POSTGRES_TRIGGERS if bind.dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(sql)
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
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
    op.drop_table("audit_chain_head")
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
