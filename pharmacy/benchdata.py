"""A large, realistic, reproducible dataset for benchmarks: `flask bench-data --orders N`.

Rows are written with bulk Core inserts in chunks (not one ORM object at a time). Proportions
follow a busy LDN pharmacy over five years: about 16 orders per patient, 4 fills per
prescription, one batch per 8 orders, an API lot every two weeks used by hundreds of batches,
a dispense and a label print per filled order, and several audit events per order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import click
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from .domain.rxnumber import format_rx_number
from .models import (
    AuditEvent,
    Batch,
    BatchLotUsage,
    Dispense,
    Formula,
    Ingredient,
    IngredientLot,
    LabelPrint,
    Order,
    Patient,
    Prescriber,
    Prescription,
    User,
)
from .models.clinical import SequenceCounter, name_key, phone_digits

CHUNK = 20_000
YEARS = 5
FIRST = [
    "Margaret",
    "James",
    "Lucia",
    "Robert",
    "Mary",
    "John",
    "Patricia",
    "Michael",
    "Linda",
    "David",
    "Barbara",
    "William",
    "Elizabeth",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Paul",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "George",
    "Amanda",
    "Edward",
    "Melissa",
    "Ronald",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Jason",
    "Rebecca",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Helen",
    "Jacob",
    "Sharon",
    "Gary",
    "Cynthia",
    "Nicholas",
    "Kathleen",
]
LAST = [
    "Ellis",
    "Okoro",
    "Fernandez",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
]
STRENGTHS = [Decimal(s) for s in ("0.5", "1", "1.5", "2", "3", "3", "4.5", "4.5", "4.5", "4")]
INDICATIONS = [
    ("Multiple sclerosis", "G35"),
    ("Fibromyalgia", "M79.7"),
    ("Hashimoto's thyroiditis", "E06.3"),
    ("Crohn's disease", "K50.90"),
    ("Chronic pain", "G89.29"),
    ("Long COVID fatigue", "U09.9"),
]
OPEN_STATUSES = ["received", "verified", "in_compounding", "quality_check", "ready", "on_hold"]


@dataclass(frozen=True)
class Context:
    today: date
    start: date
    user_ids: list[int]
    formula_id: int
    api_id: int
    filler_id: int
    shell_id: int


def _npi(rng: random.Random) -> str:
    from .domain.npi import check_digit

    first9 = "1" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return first9 + check_digit(first9)


def _chunks(rows: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(8 + rng.randint(0, 9), rng.randint(0, 59)), tzinfo=UTC)


def _next_id(conn: Connection, model) -> int:
    return (conn.scalar(select(func.max(model.id))) or 0) + 1


def already_loaded(conn: Connection, seed: int) -> bool:
    return (
        conn.scalar(
            select(AuditEvent.id)
            .where(AuditEvent.action == "bench.data", AuditEvent.entity_id == f"seed={seed}")
            .limit(1)
        )
        is not None
    )


def generate(engine, orders: int, seed: int, echo=click.echo) -> dict[str, int]:
    """Load the dataset; returns row counts. Requires the demo formulary (users, formula,
    ingredients), which it loads first when missing."""
    rng = random.Random(seed)
    today = date.today()
    with engine.begin() as conn:
        if already_loaded(conn, seed):
            echo(f"bench data for seed {seed} is already loaded; nothing to do")
            return {}
        ctx = _context(conn, today)
    counts: dict[str, int] = {}
    n_patients = max(50, orders // 16)
    n_prescribers = max(20, orders // 500)

    with engine.begin() as conn:
        pid0 = _next_id(conn, Prescriber)
        conn.execute(
            insert(Prescriber),
            [
                {
                    "id": pid0 + i,
                    "first_name": rng.choice(FIRST),
                    "last_name": rng.choice(LAST),
                    "credentials": rng.choice(["MD", "DO", "NP", "PA-C"]),
                    "npi": _npi(rng),
                    "address": f"{rng.randint(1, 999)} Clinic Way",
                    "phone": f"217-555-{i % 10000:04d}",
                }
                for i in range(n_prescribers)
            ],
        )
        counts["prescriber"] = n_prescribers

    pat0 = _load(engine, Patient, _patients(rng, n_patients), n_patients, "patients", echo)
    counts["patient"] = n_patients

    plan = _plan(rng, ctx, orders, n_patients, pat0, n_prescribers, pid0)
    with engine.begin() as conn:
        lots = _lots(conn, rng, ctx, orders)
        counts["ingredient_lot"] = sum(len(v) for v in lots.values())
    counts.update(_write_plan(engine, rng, ctx, plan, lots, echo))
    with engine.begin() as conn:
        _sync(conn, counts)
        conn.execute(
            insert(AuditEvent).values(
                actor="bench-data",
                action="bench.data",
                entity="database",
                entity_id=f"seed={seed}",
                new={"orders": orders, "counts": counts},
            )
        )
    _vacuum(engine)
    return counts


def _vacuum(engine) -> None:
    """PostgreSQL: a bulk load leaves the visibility map empty, so every index-only scan
    fetches the heap and the planner prefers sequential scans (the recall trace counted a lot's
    recipients by scanning every dispense: 160 ms, 4.5 ms after VACUUM). Autovacuum would get
    there in time on a live database; the bench should not measure that transient state."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (
            "patient",
            "prescription",
            "rx_order",
            "ingredient_lot",
            "batch",
            "batch_lot_usage",
            "dispense",
            "audit_event",
            "label_print",
        ):
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")


def _context(conn: Connection, today: date) -> Context:
    def one(stmt):
        value = conn.scalar(stmt)
        if value is None:
            raise click.ClickException("load the demo formulary first: flask demo-data")
        return value

    users = list(conn.scalars(select(User.id).order_by(User.id)))
    if not users:
        raise click.ClickException("load the demo formulary first: flask demo-data")
    return Context(
        today=today,
        start=today - timedelta(days=365 * YEARS),
        user_ids=users,
        formula_id=one(
            select(Formula.id)
            .where(Formula.dosage_form == "capsule", Formula.status == "approved")
            .limit(1)
        ),
        api_id=one(select(Ingredient.id).where(Ingredient.kind == "api").limit(1)),
        filler_id=one(select(Ingredient.id).where(Ingredient.kind == "filler").limit(1)),
        shell_id=one(select(Ingredient.id).where(Ingredient.kind == "capsule_shell").limit(1)),
    )


def _patients(rng: random.Random, n: int) -> Iterator[dict]:
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        phone = f"217-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        yield {
            "first_name": first,
            "last_name": last,
            "date_of_birth": date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 62)),
            "sex": rng.choice(["female", "female", "male"]),
            "address": f"{i} Elm St",
            "phone": phone,
            "allergies": "",
            "medications": "",
            "name_key": name_key(last, first),
            "phone_digits": phone_digits(phone),
            "phone_reversed": phone_digits(phone)[::-1],
        }


def _load(engine, model, rows: Iterator[dict], total: int, label: str, echo) -> int:
    with engine.begin() as conn:
        first_id = _next_id(conn, model)
    next_id = first_id
    with click.progressbar(length=total, label=label) as bar:
        for chunk in _chunks(rows):
            for row in chunk:
                row["id"] = next_id
                next_id += 1
            with engine.begin() as conn:
                conn.execute(insert(model), chunk)
            bar.update(len(chunk))
    return first_id


@dataclass
class PlannedRx:
    patient_id: int
    prescriber_id: int
    written: date
    strength: Decimal
    refills: int
    fills: list[date]


def _plan(
    rng, ctx: Context, orders: int, n_patients: int, pat0: int, n_presc: int, pid0: int
) -> list[PlannedRx]:
    plan, made = [], 0
    span = (ctx.today - ctx.start).days
    while made < orders:
        refills = rng.choice([0, 2, 3, 5, 5, 11])
        written = ctx.start + timedelta(days=rng.randint(0, span - 1))
        fills = []
        day = written
        for _ in range(refills + 1):
            if day > ctx.today or made + len(fills) >= orders:
                break
            fills.append(day)
            day += timedelta(days=rng.choice([28, 30, 30, 45, 90]))
        if not fills:
            continue
        plan.append(
            PlannedRx(
                pat0 + rng.randrange(n_patients),
                pid0 + rng.randrange(n_presc),
                written,
                rng.choice(STRENGTHS),
                refills,
                fills,
            )
        )
        made += len(fills)
    return plan


def _lots(
    conn: Connection, rng, ctx: Context, orders: int
) -> dict[str, list[tuple[int, date, date]]]:
    """Lots received every 14 days (API) or 30 days (filler, shells): (id, received, expiry).
    Each is big enough for the batches of its window, so derived stock never goes negative."""
    out: dict[str, list[tuple[int, date, date]]] = {}
    batches_per_day = orders / 8 / (365 * YEARS) + 1
    next_id = _next_id(conn, IngredientLot)
    rows = []
    for key, ing, every, per_batch, unit in (
        ("api", ctx.api_id, 14, 1377.82, "mg"),
        ("filler", ctx.filler_id, 30, 58622.18, "mg"),
        ("shell", ctx.shell_id, 30, 300, "each"),
    ):
        qty = str(int(per_batch * batches_per_day * every * 2) + 25000)
        out[key] = []
        day = ctx.start - timedelta(days=every)
        n = 0
        while day <= ctx.today:
            expiry = day + timedelta(days=730)
            rows.append(
                {
                    "id": next_id,
                    "ingredient_id": ing,
                    "lot_number": f"B{key[:3].upper()}{n:05d}",
                    "supplier": "PCCA",
                    "manufacturer": "Bench Labs",
                    "expires_on": expiry,
                    "quantity_received": Decimal(qty),
                    "on_hand": Decimal(qty),  # less the usages, once they are written
                    "unit": unit,
                    "assay_percent": Decimal("99.8") if key == "api" else None,
                    "assay_basis": "as_is" if key == "api" else None,
                    "status": "released",
                    "received_on": day,
                    "received_by_id": ctx.user_ids[0],
                }
            )
            out[key].append((next_id, day, expiry))
            next_id += 1
            n += 1
            day += timedelta(days=every)
    conn.execute(insert(IngredientLot), rows)
    return out


def _lot_on(lots: list[tuple[int, date, date]], day: date) -> tuple[int, date, date]:
    # Lots are evenly spaced: the last one received on or before `day`.
    first, step = lots[0][1], (lots[1][1] - lots[0][1]).days
    return lots[min(len(lots) - 1, max(0, (day - first).days // step))]


def _write_plan(engine, rng, ctx: Context, plan: list[PlannedRx], lots, echo) -> dict[str, int]:
    with engine.begin() as conn:
        rx0, ord0 = _next_id(conn, Prescription), _next_id(conn, Order)
        batch0, disp0 = _next_id(conn, Batch), _next_id(conn, Dispense)
        seq0 = conn.scalar(select(SequenceCounter.value).where(SequenceCounter.name == "rx")) or 0
    counts = dict.fromkeys(
        (
            "prescription",
            "rx_order",
            "batch",
            "batch_lot_usage",
            "dispense",
            "audit_event",
            "label_print",
        ),
        0,
    )
    batches_by_day: dict[date, list[int]] = {}
    next_batch = batch0
    total_orders = sum(len(p.fills) for p in plan)
    buffers: dict[str, list[dict]] = {k: [] for k in counts}
    tables = {
        "prescription": Prescription,
        "rx_order": Order,
        "batch": Batch,
        "batch_lot_usage": BatchLotUsage,
        "dispense": Dispense,
        "audit_event": AuditEvent,
        "label_print": LabelPrint,
    }
    order_id, disp_id = ord0, disp0
    user = ctx.user_ids

    def flush(force: bool = False) -> None:
        # Parents before children, so foreign keys hold at every commit.
        if not force and sum(len(b) for b in buffers.values()) < CHUNK * 3:
            return
        with engine.begin() as conn:
            for key in (
                "prescription",
                "batch",
                "rx_order",
                "batch_lot_usage",
                "dispense",
                "audit_event",
                "label_print",
            ):
                if buffers[key]:
                    conn.execute(insert(tables[key]), buffers[key])
                    counts[key] += len(buffers[key])
                    buffers[key].clear()

    def batch_for(day: date) -> int:
        nonlocal next_batch
        todays = batches_by_day.setdefault(day, [])
        # About eight orders per batch: start a new batch on one order in eight.
        if todays and rng.random() > 0.125:
            return rng.choice(todays)
        bid, n = next_batch, len(todays) + 1
        next_batch += 1
        todays.append(bid)
        api, filler, shell = (_lot_on(lots[k], day) for k in ("api", "filler", "shell"))
        bud = min(day + timedelta(days=180), api[2], filler[2], shell[2])
        buffers["batch"].append(
            {
                "id": bid,
                "batch_number": f"{day:%Y%m%d}-LDNCAP-{n:03d}",
                "formula_id": ctx.formula_id,
                "strength_mg": Decimal("4.5"),
                "strength_basis": "hcl",
                "units_planned": 300,
                "units_made": 300,
                "units_remaining": 0,
                "unit": "capsule",
                "status": "released",
                "compounded_on": day,
                "beyond_use_date": bud,
                "bud_limited_by": "USP <795> category",
                "calculation": {"bench": True},
                "compounded_by_id": user[2 % len(user)],
                "checked_by_id": user[0],
                "released_at": _at(day, rng),
                "submitted_at": _at(day, rng),
            }
        )
        for role, (lot_id, _r, _e), qty, unit in (
            ("active", api, "1377.82", "mg"),
            ("filler", filler, "58622.18", "mg"),
            ("capsule_shell", shell, "300", "each"),
        ):
            buffers["batch_lot_usage"].append(
                {
                    "batch_id": bid,
                    "lot_id": lot_id,
                    "role": role,
                    "planned_quantity": Decimal(qty),
                    "actual_quantity": Decimal(qty),
                    "unit": unit,
                }
            )
        return bid

    with click.progressbar(length=total_orders, label="orders") as bar:
        for i, p in enumerate(plan):
            rx_id = rx0 + i
            expires = p.written + timedelta(days=365)
            done = len(p.fills) == p.refills + 1
            status = "completed" if done else ("expired" if expires < ctx.today else "verified")
            buffers["prescription"].append(
                {
                    "id": rx_id,
                    "rx_number": format_rx_number(seq0 + i + 1),
                    "patient_id": p.patient_id,
                    "prescriber_id": p.prescriber_id,
                    "formula_id": ctx.formula_id,
                    "date_written": p.written,
                    "expires_on": expires,
                    "dosage_form": "capsule",
                    "strength_mg": p.strength,
                    "dose_mg": p.strength,  # one capsule a dose
                    "strength_basis": "hcl",
                    "quantity": Decimal(30),
                    "quantity_unit": "capsule",
                    "doses_per_day": 1,
                    "directions": f"Take 1 capsule ({p.strength.normalize():f} mg) by mouth once daily "
                    "at bedtime.",
                    "refills_authorized": p.refills,
                    "indication": rng.choice(INDICATIONS)[0],
                    "status": status,
                    "created_by_id": user[-1],
                    "verified_by_id": user[0],
                    "verified_at": _at(p.written, rng),
                    "created_at": _at(p.written, rng),
                }
            )
            buffers["audit_event"].append(
                {
                    "actor": "bench",
                    "user_id": user[-1],
                    "action": "prescription.create",
                    "entity": "prescription",
                    "entity_id": str(rx_id),
                    "at": _at(p.written, rng),
                    "new": {"status": "entered"},
                }
            )
            for fill_no, day in enumerate(p.fills, start=1):
                age = (ctx.today - day).days
                if age > 10:
                    status = "cancelled" if rng.random() < 0.03 else "dispensed"
                else:
                    status = rng.choice(OPEN_STATUSES)
                buffers["rx_order"].append(
                    {
                        "id": order_id,
                        "prescription_id": rx_id,
                        "fill_number": fill_no,
                        "status": status,
                        "quantity": Decimal(30),
                        "quantity_unit": "capsule",
                        "created_by_id": user[-1],
                        "created_at": _at(day, rng),
                        "updated_at": _at(day, rng),
                    }
                )
                for action in ("order.create", f"order.{status}"):
                    buffers["audit_event"].append(
                        {
                            "actor": "bench",
                            "user_id": user[0],
                            "action": action,
                            "entity": "rx_order",
                            "entity_id": str(order_id),
                            "at": _at(day, rng),
                            "new": {"status": status},
                        }
                    )
                if status == "dispensed":
                    bid = batch_for(day - timedelta(days=1))
                    buffers["dispense"].append(
                        {
                            "id": disp_id,
                            "order_id": order_id,
                            "batch_id": bid,
                            "quantity": Decimal(30),
                            "unit": "capsule",
                            "dispensed_by_id": user[0],
                            "dispensed_at": _at(day, rng),
                        }
                    )
                    buffers["label_print"].append(
                        {
                            "document": "dispensing_label",
                            "entity": "rx_order",
                            "entity_id": str(order_id),
                            "stock": "thermal-4x2",
                            "copies": 1,
                            "printed_by_id": user[0],
                            "printed_at": _at(day, rng),
                        }
                    )
                    disp_id += 1
                order_id += 1
                bar.update(1)
            flush()
        flush(force=True)
    with engine.begin() as conn:
        conn.execute(SequenceCounter.__table__.delete().where(SequenceCounter.name == "rx"))
        conn.execute(insert(SequenceCounter).values(name="rx", value=seq0 + len(plan)))
    return counts


def _sync(conn: Connection, counts: dict[str, int]) -> None:
    """Explicit ids were written; move PostgreSQL's sequences past them and refresh stats.
    The usages went in with bulk inserts (no ORM events): the lots' running stock is summed."""
    from .services.inventory import resum_running_stock

    resum_running_stock(conn)
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql("ANALYZE")
        return
    for table in (
        "patient",
        "prescriber",
        "prescription",
        "rx_order",
        "ingredient_lot",
        "batch",
        "batch_lot_usage",
        "dispense",
        "audit_event",
        "label_print",
    ):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
    conn.exec_driver_sql("ANALYZE")
