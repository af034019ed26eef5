"""Command-line set-up: users for scripted installs, and demo data for evaluation."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .database import unit_of_work
from .domain.errors import ValidationFailed
from .models import ROLES

user_cli = AppGroup("user", help="Manage user accounts.")


@user_cli.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--initials", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.password_option("--password", help="Prompted for when not given.")
def create_user_command(username, full_name, initials, roles, password):
    """Create a user (audited as done by the command line)."""
    from .services import accounts

    try:
        with unit_of_work() as s:
            user = accounts.create_user(
                s,
                "cli",
                accounts.NewUser(username, full_name, initials, password, tuple(roles)),
                current_app.config["PASSWORD_HASHER"],
            )
    except ValidationFailed as exc:
        for err in exc.errors:
            click.echo(f"error: {err.field}: {err.message}", err=True)
        raise SystemExit(2) from None
    click.echo(f"created user {user.username} with roles {', '.join(sorted(user.roles))}")


@click.command("demo-data")
@with_appcontext
def demo_data_command():
    """Load a realistic demo pharmacy (users of each role, patients, formulas, lots)
    into an empty database. A database that is already set up is refused: demo patients,
    users with a published password and fake stock must never mix with real records."""
    import flask_migrate
    from sqlalchemy import func, inspect, select

    from .demo import load_demo
    from .extensions import db
    from .models import PharmacyProfile, User

    if not inspect(db.engine).get_table_names():
        # A brand-new database (no tables at all): create the schema by the migrations, as
        # `flask db upgrade` would, so the demo loads into the same schema a pharmacy runs.
        flask_migrate.upgrade()
        click.echo("database schema created (migrations applied)")
    users = db.session.scalar(select(func.count()).select_from(User))
    profile = db.session.scalar(select(PharmacyProfile.name).limit(1))
    db.session.remove()
    if users or profile:
        click.echo(
            f"error: this database is already set up ({profile or 'no pharmacy name'}, "
            f"{users} user account(s)). Demo data only goes into an empty database: point "
            "DATABASE_URL at a new one, or remove the local one with `make clean-db`.",
            err=True,
        )
        raise SystemExit(2)
    with unit_of_work() as s:
        summary = load_demo(s, current_app.config["PASSWORD_HASHER"])
    for line in summary:
        click.echo(line)


@click.command("bench-data")
@click.option("--orders", type=click.IntRange(min=1), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=20261126, show_default=True)
@with_appcontext
def bench_data_command(orders: int, seed: int):
    """Fill the database named by DATABASE_URL with a large, reproducible dataset."""
    from sqlalchemy import func, select

    from .benchdata import generate
    from .demo import load_demo
    from .extensions import db
    from .models import Formula

    if not db.session.scalar(select(func.count()).select_from(Formula)):
        with unit_of_work() as s:
            load_demo(s, current_app.config["PASSWORD_HASHER"])
    db.session.remove()
    counts = generate(db.engine, orders, seed)
    for table, n in counts.items():
        click.echo(f"{table:>16}: {n:,}")


audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def audit_verify_command():
    """Recompute the audit trail's hash chain; exit status 1 if any row was tampered with."""
    from .extensions import db
    from .services.audit import verify_chain

    checked, problems = verify_chain(db.session)
    for problem in problems:
        click.echo(f"BROKEN: {problem}", err=True)
    if problems:
        click.echo(f"audit trail: {checked} rows checked, {len(problems)} problem(s)", err=True)
        raise SystemExit(1)
    click.echo(f"audit trail intact: {checked} rows, chain verified")


def register_cli(app: Flask) -> None:
    app.cli.add_command(user_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(bench_data_command)
