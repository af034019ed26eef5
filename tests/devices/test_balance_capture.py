"""Balance capture over a serial line (pyserial socket:// to the simulated balance): a stable
weight is read into the line, and the record says which weights were captured and which typed."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.devices.balance_sim import SimulatedBalance
from pharmacy.domain.balance_protocol import BalanceError
from pharmacy.extensions import db
from pharmacy.models import Balance, BatchLotUsage
from pharmacy.services import balance_capture
from tests.batch_helpers import latest_batch, seed, start_form, weights_data
from tests.support import form_error


@pytest.fixture
def sim():
    balances = []

    def _start(protocol="mt-sics", weight="0.45808", unit="g"):
        b = SimulatedBalance(protocol, weight, unit)
        b.start()
        balances.append(b)
        return b

    yield _start
    for b in balances:
        b.stop()


@pytest.mark.parametrize("protocol", ["mt-sics", "sbi"])
def test_a_stable_weight_is_read_over_the_line(sim, protocol):
    balance = sim(protocol, "12.3456", "g")
    reading = balance_capture.read_stable(balance.url, protocol, timeout=2)
    assert (reading.value, reading.unit, reading.stable) == (D("12.3456"), "g", True)
    assert balance.requests == [b"S\r\n" if protocol == "mt-sics" else b"\x1bP\r\n"]


@pytest.mark.parametrize("protocol", ["mt-sics", "sbi"])
def test_an_unsettled_or_overloaded_balance_gives_no_weight(sim, protocol):
    balance = sim(protocol)
    balance.stable = False
    with pytest.raises(BalanceError, match="busy|not stable"):
        balance_capture.read_stable(balance.url, protocol, timeout=2)
    balance.stable, balance.overload = True, True
    with pytest.raises(BalanceError, match="overloaded"):
        balance_capture.read_stable(balance.url, protocol, timeout=2)


def test_wrong_protocol_and_dead_port_are_explained(sim):
    sbi = sim("sbi")
    with pytest.raises(BalanceError, match="no answer from the balance .* MT-SICS"):
        balance_capture.read_stable(sbi.url, "mt-sics", timeout=0.5)
    with pytest.raises(BalanceError, match="cannot open the balance's port"):
        balance_capture.read_stable("socket://127.0.0.1:1", "sbi", timeout=0.5)


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _connect(app, balance_id, url, protocol="mt-sics"):
    from pharmacy.database import unit_of_work

    with app.app_context(), unit_of_work() as s:
        row = s.get(Balance, balance_id)
        row.port, row.protocol = url, protocol


def test_balance_port_and_protocol_on_the_balance_record(app, as_role, ids):
    ph = as_role("pharmacist")
    form = {
        "name": "BAL-09",
        "readability_mg": "0.01",
        "mwq_mg": "20",
        "calibration_due": "2099-01-01",
        "active": "y",
    }
    resp = ph.post("/equipment/balances/new", data={**form, "port": "/dev/ttyUSB0"})
    assert resp.status_code == 422
    assert form_error(resp, "protocol") == "give both the port and the protocol, or neither"
    data = {**form, "port": "socket://127.0.0.1:4001", "protocol": "sbi"}
    assert ph.post("/equipment/balances/new", data=data).status_code == 302
    with app.app_context():
        row = db.session.scalar(select(Balance).where(Balance.name == "BAL-09"))
        assert (row.port, row.protocol) == ("socket://127.0.0.1:4001", "sbi")
    assert "sbi on socket://127.0.0.1:4001" in ph.get("/equipment/balances").get_data(as_text=True)


def test_read_balance_fills_the_weight_and_the_record_says_captured(app, as_role, ids, sim):
    balance = sim("sbi", "0.45808", "g")
    _connect(app, ids["balance"], balance.url, "sbi")
    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    with app.app_context():
        lines = {
            u.role: u.id
            for u in db.session.scalars(select(BatchLotUsage).where(BatchLotUsage.batch_id == bid))
        }
    api, filler = lines["active"], lines["filler"]
    resp = tech.post(
        f"/batches/{bid}/lines/{api}/read-balance", data={"balance_id": ids["balance"]}
    )
    assert resp.status_code == 200, resp.json
    assert (resp.json["value"], resp.json["unit"]) == ("458.08", "mg")
    data = weights_data(app, bid)
    data[f"actual_{api}"] = resp.json["value"]
    data[f"capture_{api}"] = resp.json["token"]
    # A token for another value (typed over the capture) does not make the filler captured.
    data[f"capture_{filler}"] = resp.json["token"]
    assert tech.post(f"/batches/{bid}/weights", data=data).status_code == 302
    with app.app_context():
        assert db.session.get(BatchLotUsage, api).weight_source == "captured"
        assert db.session.get(BatchLotUsage, api).actual_quantity == D("458.08")
        assert db.session.get(BatchLotUsage, filler).weight_source == "typed"
    page = tech.get(f"/batches/{bid}").get_data(as_text=True)
    assert f'data-testid="weight-source-{api}">captured from balance' in page
    assert f'data-testid="weight-source-{filler}">typed' in page
    # The worksheet data carries it too.
    from pharmacy.services import documents

    with app.app_context():
        from pharmacy.models import Batch

        sheet = documents.worksheet(db.session, db.session.get(Batch, bid))
        sources = {lot.component.split()[0]: lot.weight_source for lot in sheet.lots}
        assert sources["Naltrexone"] == "captured"
        assert sources["Microcrystalline"] == "typed"
    import io

    import pdfplumber

    from labels import render_worksheet

    pages = pdfplumber.open(io.BytesIO(render_worksheet(sheet))).pages
    text = "\n".join(p.extract_text() for p in pages)
    assert "(balance)" in text and "(typed)" in text


def test_read_balance_refusals_name_the_field(app, as_role, ids, sim, monkeypatch):
    monkeypatch.setattr(balance_capture, "TIMEOUT_S", 0.5)
    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    with app.app_context():
        api = db.session.scalar(
            select(BatchLotUsage.id).where(
                BatchLotUsage.batch_id == bid, BatchLotUsage.role == "active"
            )
        )
    url = f"/batches/{bid}/lines/{api}/read-balance"
    _connect(app, ids["balance"], "socket://127.0.0.1:1")  # nothing listens there
    resp = tech.post(url, data={"balance_id": ids["balance"]})
    assert resp.status_code == 422
    assert (
        "cannot open the balance's port socket://127.0.0.1:1" in resp.json["errors"][0]["message"]
    )
    _connect(app, ids["balance"], None, None)
    resp = tech.post(url, data={"balance_id": ids["balance"]})
    assert resp.status_code == 422
    assert resp.json["errors"][0]["field"] == f"balance_{api}"
    assert "is not connected" in resp.json["errors"][0]["message"]
    unsettled = sim("mt-sics")
    unsettled.stable = False
    _connect(app, ids["balance"], unsettled.url)
    resp = tech.post(url, data={"balance_id": ids["balance"]})
    assert resp.status_code == 422
    assert resp.json["errors"][0] == {
        "field": f"actual_{api}",
        "message": "Sartorius Quintix 125D-1S (BAL-01): the balance is busy (taring or "
        "adjusting): wait and read again",
    }
