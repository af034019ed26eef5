"""The queue board's and the status look-up's rows, written out in Python (web/order_rows.py),
read exactly as the Jinja rows they replaced: same markup, same escaping, same wording."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from markupsafe import escape as markupsafe_escape

from pharmacy.services.orders import OrderRow
from pharmacy.web import order_rows

# The rows as the templates wrote them before (orders/queue.html, orders/lookup.html).
QUEUE_JINJA = """{% for o in rows %}
        {% set late = o.promised_on and o.promised_on < today %}
        <tr{% if late %} class="overdue" data-overdue="1"{% endif %}><td>{% if status == 'received' %}<a href="{{ rx_href }}{{ o.prescription_id }}" title="Open the prescription to verify it">{{ o.number }}</a>{% else %}<a href="{{ order_href }}{{ o.id }}">{{ o.number }}</a>{% endif %}</td>
          <td>{{ o.patient_name }}</td>
          <td>{{ o.medicine }} × {{ o.quantity }}{% if o.is_titration %} <span class="badge sev-warning" data-testid="titration-badge">titration</span>{% endif %}</td>
          <td>{{ o.created_at|dt }}</td><td>{{ o.promised_on|dt }}{% if late %} <span class="badge sev-refused">overdue</span>{% endif %}</td></tr>
      {% endfor %}"""  # noqa: E501
LOOKUP_JINJA = """{% for o in rows %}
    <tr><td><a href="{{ order_href }}{{ o.id }}">{{ o.number }}</a></td>
      <td>{{ o.last_name }}, {{ o.first_name }}</td>
      <td>{{ o.date_of_birth|dt }}</td>
      <td>{{ o.medicine }}{% if o.is_titration %} <span class="badge sev-warning" data-testid="titration-badge">titration</span>{% endif %}</td>
      <td><span class="badge" data-testid="order-status">{{ o.status|replace('_', ' ') }}</span></td>
      <td>{{ o.promised_on|dt }}</td></tr>
  {% endfor %}"""  # noqa: E501

TODAY = date(2026, 6, 15)


def _row(i: int, **kw) -> OrderRow:
    values = dict(
        id=1000 + i,
        prescription_id=7 + i,
        fill_number=i + 1,
        status="in_compounding",
        status_reason=None,
        promised_on=date(2026, 6, 10 + i),
        quantity=Decimal("30"),
        quantity_unit="capsule",
        created_at=datetime(2026, 6, 1, 23, 30 + i),  # naive UTC, as SQLite returns it
        rx_number="RX000123K",
        strength_mg=Decimal("4.5"),
        dosage_form="capsule",
        patient_id=3,
        first_name="Ann",
        last_name="O'Brien",
        date_of_birth=date(1961, 4, 12),
        dose_mg=Decimal("4.5"),
        is_titration=False,
    )
    values.update(kw)
    return OrderRow(**values)


ROWS = [
    _row(0),  # overdue (promised before today)
    _row(1, promised_on=None, is_titration=True),
    _row(2, first_name='<script>"x"</script>', last_name="Smith & Sons"),
    _row(3, quantity=Decimal("1500"), dosage_form="oral_solution", strength_mg=Decimal("1")),
    _row(4, created_at=datetime(2026, 6, 1, 23, 59, tzinfo=UTC), status="on_hold"),
    _row(5, promised_on=TODAY, dose_mg=Decimal("0.5")),
]


def _squash(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", str(html))).strip()


@pytest.mark.parametrize("status", ["received", "verified"])
@pytest.mark.parametrize("zone", ["", "America/Chicago"])
def test_queue_rows_read_as_the_template_did(app, status, zone):
    app.config["TIMEZONE"] = zone
    args = dict(today=TODAY, order_href="/orders/", rx_href="/prescriptions/")
    with app.test_request_context("/orders/queue"):
        before = app.jinja_env.from_string(QUEUE_JINJA).render(rows=ROWS, status=status, **args)
        after = order_rows.queue_rows(ROWS, status, **args)
    assert _squash(after) == _squash(before)
    assert "&lt;script&gt;&#34;x&#34;&lt;/script&gt;" in after and "1,500" in after
    assert after.count('data-overdue="1"') == 4  # promised before today; not on the day


@pytest.mark.parametrize("zone", ["", "America/Chicago"])
def test_lookup_rows_read_as_the_template_did(app, zone):
    app.config["TIMEZONE"] = zone
    with app.test_request_context("/orders/"):
        before = app.jinja_env.from_string(LOOKUP_JINJA).render(rows=ROWS, order_href="/orders/")
        after = order_rows.lookup_rows(ROWS, "/orders/")
    assert _squash(after) == _squash(before)
    assert "O&#39;Brien" in after and "on hold" in after


def test_escape_matches_markupsafe():
    for text in ["plain", "<a href='x'>&amp;\"</a>", "", "ünïcode — ×", Decimal("1234.5"), 42]:
        assert order_rows.escape(text) == str(markupsafe_escape(text))
