"""`make bench`: build the dataset, measure, print one table of figures with same-run references.

    python -m bench [--orders 1000000] [--only sqlite|postgresql] [--http-seconds 5] [--rounds 3]
                    [--parts lookups,recall,audit,http,labels,writes]

SQLite always (bench/bench.db); PostgreSQL too when TEST_DATABASE_URL or DATABASE_URL names
one (in a schema of its own per size, `bench_<orders>`).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from .report import Report

HERE = Path(__file__).resolve().parent


def _pg_url() -> str | None:
    for var in ("TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(var, "")
        if url.startswith(("postgresql", "postgres:")):
            return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return None


def _pg_bench_url(url: str, orders: int) -> str:
    """One schema per dataset size, as SQLite has one file per size."""
    schema = f"bench_{orders}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def run_one(name: str, url: str, args) -> Report:
    from flask_migrate import upgrade

    from pharmacy import create_app
    from pharmacy.benchdata import generate
    from pharmacy.database import unit_of_work
    from pharmacy.demo import DEMO_PASSWORD, load_demo
    from pharmacy.extensions import db

    from . import audit_bench, http_bench, labels_bench, lookups, recall, writes

    report = Report(f"{name}: {args.orders:,} orders ({url.split('?')[0]})")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        with unit_of_work() as s:
            load_demo(s, app.config["PASSWORD_HASHER"])
        db.session.remove()
        start = time.perf_counter()
        counts = generate(db.engine, args.orders, seed=args.seed)
        if counts:
            report.add(
                "dataset load (rows/s)",
                f"{sum(counts.values()) / (time.perf_counter() - start):,.0f}",
                f"{sum(counts.values()):,} rows",
            )
        parts = args.parts
        if "lookups" in parts:
            samples = lookups.run(report, rounds=args.rounds)
        else:
            samples = lookups.samples()
        if "recall" in parts:
            samples["lot_id"] = recall.run(report)
        else:
            samples["lot_id"] = recall.most_used_lot()[0]
        if "audit" in parts:
            audit_bench.run(report, rounds=args.rounds)
        samples["order_ids"] = _order_ids(db.session)
        token = _api_token(db.session)
    if "http" in parts:
        http_bench.run(
            report,
            url,
            "pharmacist",
            DEMO_PASSWORD,
            samples,
            token,
            seconds=args.http_seconds,
            rounds=args.rounds,
        )
    if name == "sqlite" and "labels" in parts:
        labels_bench.run(report, rounds=args.rounds)
    if name == "postgresql" and "writes" in parts:
        # Last, and undone afterwards: the writes must not change what the reads measure.
        writes.run(report, app)
    return report


def _order_ids(session, n: int = 50) -> list[int]:
    from pharmacy.models import Order

    top = session.scalar(select(func.max(Order.id)))
    session.rollback()
    return random.Random(2).sample(range(1, top + 1), n)


def _api_token(session) -> str:
    """A fresh API token for the pharmacist (the API takes bearer tokens only)."""
    from pharmacy.database import unit_of_work
    from pharmacy.models import User
    from pharmacy.services.accounts import create_api_token

    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "pharmacist"))
        return create_api_token(s, user, user, "bench")


PARTS = ("lookups", "recall", "audit", "http", "labels", "writes")


def _parts(value: str) -> tuple[str, ...]:
    chosen = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PARTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"parts are some of {', '.join(PARTS)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--orders", type=int, default=int(os.environ.get("BENCH_ORDERS", 1_000_000))
    )
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--http-seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--parts",
        type=_parts,
        default=PARTS,
        help=f"comma-separated, some of {','.join(PARTS)} (default: all of them)",
    )
    args = parser.parse_args()
    targets = []
    if args.only in (None, "sqlite"):
        targets.append(("sqlite", f"sqlite:///{HERE / f'bench-{args.orders}.db'}"))
    pg = _pg_url()
    if args.only in (None, "postgresql") and pg:
        targets.append(("postgresql", _pg_bench_url(pg, args.orders)))
    reports = [run_one(name, url, args) for name, url in targets]
    print()
    print(
        f"machine: {platform.node()} · {os.cpu_count()} CPUs · Python "
        f"{platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M')}"
    )
    for report in reports:
        print()
        print(report.render())


if __name__ == "__main__":
    main()
