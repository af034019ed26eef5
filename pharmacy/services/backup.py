"""Backups and the inspector's export.

`backup` copies the database while the app runs: SQLite through its online backup API (a
consistent snapshot even mid-write), PostgreSQL through pg_dump (custom format, restorable with
pg_restore). The attachments directory is copied beside it, since those files are records too.
`export_records` writes what an inspector asks for (batches, prescriptions, the audit trail) as
CSV and JSON in one zip, with a manifest of row counts and checksums.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ..models import AuditEvent, Batch, Prescription
from . import audit

EXPORT_TABLES = {"batches": Batch, "prescriptions": Prescription, "audit_trail": AuditEvent}
# An export is read in chunks (keyset by id); the session's identity map holds rows weakly, so
# read rows that are no longer referenced are freed as it goes.
CHUNK = 2000


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    database_file: Path
    backend: str
    counts: dict[str, int]


def _pg_target(url: str) -> tuple[str, str | None]:
    """A libpq URI for pg_dump (without the SQLAlchemy driver) and the schema the app uses
    when the URL sets one through search_path."""
    parsed = make_url(url)
    schema = None
    options = parsed.query.get("options")
    if options:
        text = options if isinstance(options, str) else options[0]
        for part in text.split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0]
    plain = parsed.set(drivername="postgresql").set(query={})
    return plain.render_as_string(hide_password=False), schema


def row_counts(session: Session, tables) -> dict[str, int]:
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in tables
    }


def backup(session: Session, url: str, attachments_dir: Path, out_dir: Path) -> BackupResult:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out_dir / f"pharmacy-backup-{stamp}"
    target.mkdir(parents=True, exist_ok=False)
    backend = make_url(url).get_backend_name()
    counts = row_counts(session, EXPORT_TABLES.values())
    if backend == "sqlite":
        db_file = target / "pharmacy.db"
        source = sqlite3.connect(make_url(url).database)
        dest = sqlite3.connect(db_file)
        try:
            with dest:
                source.backup(dest)
        finally:
            dest.close()
            source.close()
    else:
        db_file = target / "pharmacy.dump"
        pg_dump(url, db_file)
    if attachments_dir.exists():
        shutil.copytree(attachments_dir, target / "attachments")
    manifest = {
        "created_at": stamp,
        "backend": backend,
        "database_file": db_file.name,
        "sha256": hashlib.sha256(db_file.read_bytes()).hexdigest(),
        "row_counts": counts,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return BackupResult(target, db_file, backend, counts)


def pg_dump(url: str, dest: Path) -> None:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed; install the PostgreSQL client tools")
    uri, schema = _pg_target(url)
    args = ["pg_dump", "--format=custom", "--no-owner", f"--file={dest}"]
    if schema:
        args.append(f"--schema={schema}")
    result = subprocess.run([*args, f"--dbname={uri}"], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


# ---------------------------------------------------------------- the inspector's export


def _plain(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else str(value)


def _rows(session: Session, model, since: date | None):
    stmt = select(model).order_by(model.id)
    if since is not None:
        column = model.at if model is AuditEvent else model.created_at
        stmt = stmt.where(column >= datetime.combine(since, datetime.min.time(), tzinfo=UTC))
    last = 0
    while True:
        chunk = list(session.scalars(stmt.where(model.id > last).limit(CHUNK)))
        if not chunk:
            return
        for row in chunk:
            yield audit.snapshot(row)
        last = chunk[-1].id


def export_records(session: Session, since: date | None = None) -> tuple[bytes, dict[str, int]]:
    """The zip's bytes and the number of rows of each record set."""
    buf = io.BytesIO()
    counts: dict[str, int] = {}
    sums: dict[str, str] = {}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, model in EXPORT_TABLES.items():
            rows = list(_rows(session, model, since))
            counts[name] = len(rows)
            columns = [c.key for c in model.__mapper__.column_attrs]
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for r in rows:
                writer.writerow({k: _plain(r.get(k)) for k in columns})
            data_csv = text.getvalue().encode()
            data_json = json.dumps(rows, indent=1, ensure_ascii=False, default=str).encode()
            zf.writestr(f"{name}.csv", data_csv)
            zf.writestr(f"{name}.json", data_json)
            sums[f"{name}.csv"] = hashlib.sha256(data_csv).hexdigest()
            sums[f"{name}.json"] = hashlib.sha256(data_json).hexdigest()
        manifest = {
            "exported_at": datetime.now(UTC).isoformat(),
            "since": since.isoformat() if since else None,
            "row_counts": counts,
            "sha256": sums,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    return buf.getvalue(), counts


def parse_since(value: str | None) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value)
