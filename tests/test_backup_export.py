"""`flask backup` and `flask export`, both tested by restoring / reading back what they wrote."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Prescription
from tests.batch_helpers import make_order, seed

TABLES = ("prescription", "rx_order", "ingredient_lot", "audit_event", "user_account", "formula")


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def _seeded(app, pharmacy):
    seed(app)
    make_order(app)
    make_order(app, strength="3")
    attachments = Path(app.config["ATTACHMENTS_DIR"])
    (attachments / "ab").mkdir(parents=True)
    (attachments / "ab" / "abc").write_bytes(b"%PDF-1.4 scan")
    with app.app_context():
        return _counts(db.session.connection())


def _backup_dir(result, tmp_path) -> Path:
    assert result.exit_code == 0, result.output
    dirs = list((tmp_path / "out").iterdir())
    assert len(dirs) == 1
    return dirs[0]


def test_backup_restores(app, pharmacy, tmp_path, backend):
    expected = _seeded(app, pharmacy)
    if backend == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed: the PostgreSQL backup cannot be tested here")
    result = app.test_cli_runner().invoke(args=["backup", "--out", str(tmp_path / "out")])
    out = _backup_dir(result, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["row_counts"]["prescription"] == expected["prescription"] > 0
    assert (out / "attachments" / "ab" / "abc").read_bytes() == b"%PDF-1.4 scan"
    if backend == "sqlite":
        restored = create_engine(f"sqlite:///{out / 'pharmacy.db'}")
        with restored.connect() as conn:
            assert _counts(conn) == expected
            numbers = {r[0] for r in conn.execute(text("SELECT rx_number FROM prescription"))}
        with app.app_context():
            assert numbers == set(db.session.scalars(select(Prescription.rx_number)))
        restored.dispose()
    else:
        _restore_postgres(app, out / "pharmacy.dump", expected)


def _restore_postgres(app, dump: Path, expected: dict) -> None:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = url.query["options"]
    schema = options.split("search_path=", 1)[1]
    admin = create_engine(url.set(query={}), isolation_level="AUTOCOMMIT")
    name = f"restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = url.set(database=name, query={})
        target = fresh.set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={target}", str(dump)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        engine = create_engine(fresh.set(query={"options": f"-csearch_path={schema}"}))
        with engine.connect() as conn:
            assert _counts(conn) == expected
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_export_for_an_inspector_reads_back(app, pharmacy, tmp_path):
    _seeded(app, pharmacy)
    out = tmp_path / "records.zip"
    result = app.test_cli_runner().invoke(args=["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        s = db.session
        rx_numbers = set(s.scalars(select(Prescription.rx_number)))
        audit_count = s.scalar(select(func.count()).select_from(AuditEvent))
        batch_count = s.scalar(select(func.count()).select_from(Batch))
        assert s.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
            "records.export"
        )
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(
            [
                f"{n}.{ext}"
                for n in ("batches", "prescriptions", "audit_trail")
                for ext in ("csv", "json")
            ]
            + ["manifest.json"]
        )
        manifest = json.loads(zf.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(zf.read("prescriptions.csv").decode())))
        trail = json.loads(zf.read("audit_trail.json"))
        batches = json.loads(zf.read("batches.json"))
    assert {r["rx_number"] for r in rows} == rx_numbers
    assert {"4.5", "3"} <= {r["strength_mg"] for r in rows}
    # The export's own audit event is written after the records were read.
    assert len(trail) == audit_count - 1 == manifest["row_counts"]["audit_trail"]
    assert len(batches) == batch_count
    assert all("action" in e and "actor" in e for e in trail)


def test_export_refuses_a_bad_date(app, pharmacy, tmp_path):
    result = app.test_cli_runner().invoke(
        args=["export", "--out", str(tmp_path / "x.zip"), "--since", "yesterday"]
    )
    assert result.exit_code == 2 and "--since" in result.output


def test_export_page_downloads_the_zip_and_is_audited(app, as_role, pharmacy):
    resp = as_role("pharmacist").post("/records/export", data={"since": "soon"})
    assert resp.status_code == 422
    resp = as_role("admin").post("/records/export", data={})
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        assert "audit_trail.csv" in zf.namelist()
    assert as_role("technician").get("/records/export").status_code == 403
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "records.export"))
        assert event.actor == "admin"
