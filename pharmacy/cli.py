"""Command-line set-up: users for scripted installs, and demo data for evaluation."""

from __future__ import annotations

from pathlib import Path

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


balance_cli = AppGroup("balance", help="Balances on serial lines.")


@balance_cli.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=4001, show_default=True, type=int)
@click.option("--protocol", type=click.Choice(["mt-sics", "sbi"]), default="mt-sics")
@click.option("--weight", default="12.3456", show_default=True, help="On the pan.")
@click.option("--unit", default="g", show_default=True)
def simulate_balance(host, port, protocol, weight, unit):
    """Run a simulated balance; set a Balance's port to the socket:// URL printed."""
    import time

    from .devices.balance_sim import SimulatedBalance

    sim = SimulatedBalance(protocol, weight, unit)
    url = sim.start(host, port)
    click.echo(f"Simulated {protocol} balance at {url} reading {weight} {unit}. Ctrl-C stops.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.stop()


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


stock_cli = AppGroup("stock", help="Ingredient stock.")


@stock_cli.command("verify")
def verify_stock_command():
    """Check every lot's running stock against receipt + adjustments - usages."""
    from .extensions import db
    from .services.inventory import verify_running_stock

    wrong = verify_running_stock(db.session)
    for m in wrong:
        click.echo(
            f"lot {m.lot_number} (id {m.lot_id}): running stock {m.running}, "
            f"movements sum to {m.derived}",
            err=True,
        )
    if wrong:
        raise SystemExit(1)
    click.echo("every lot's running stock equals the sum of its movements")


def register_cli(app: Flask) -> None:
    app.cli.add_command(stock_cli)
    app.cli.add_command(balance_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(bench_data_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(export_command)


@click.command("backup")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the backup into (default: instance/backups).",
)
@with_appcontext
def backup_command(out_dir: Path | None):
    """Back up the database (SQLite online backup / pg_dump) and the attachments."""
    from .extensions import db
    from .services import backup

    out_dir = out_dir or Path(current_app.instance_path) / "backups"
    try:
        result = backup.backup(
            db.session,
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            Path(current_app.config["ATTACHMENTS_DIR"]),
            out_dir,
        )
    except backup.BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"backup written to {result.path}")
    for table, n in result.counts.items():
        click.echo(f"  {table}: {n} rows")


@click.command("export")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--since", default=None, help="Only records from this date (YYYY-MM-DD).")
@with_appcontext
def export_command(out_file: Path, since: str | None):
    """Export batches, prescriptions and the audit trail (CSV and JSON) in a zip for an
    inspector."""
    from .database import unit_of_work
    from .services import audit, backup

    try:
        since_date = backup.parse_since(since)
    except ValueError:
        click.echo(f"error: --since: {since!r} is not a date (use YYYY-MM-DD)", err=True)
        raise SystemExit(2) from None
    with unit_of_work() as s:
        data, counts = backup.export_records(s, since_date)
        audit.record(s, "cli", "records.export", "export", None, None, {"rows": counts})
    out_file.write_bytes(data)
    click.echo(f"export written to {out_file}")
    for name, n in counts.items():
        click.echo(f"  {name}: {n} rows")
