"""The rows of the queue board and of the status look-up, written out by one function each.

Through Jinja a listed order cost about 50 µs (per value: attribute look-up, the global
`finalize`, escaping; per row: the `dt` filter twice and the medicine text): 60 rows were most
of the board's time. Here each row is one f-string of the same markup, every value escaped
by markupsafe exactly as the templates' autoescape does (and quantities grouped as
`humanize.grouped` does), so the page reads the same; tests/web/test_order_rows.py renders
both ways and compares. The tables around the rows stay in the templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from markupsafe import Markup

from ..localtime import local_text, zone
from ..services.orders import OrderRow
from .humanize import grouped


def escape(value) -> str:
    """markupsafe.escape's text (the templates' autoescape), as a plain str: without building
    a Markup object for each of the ~500 values a board shows."""
    return (
        str(value)
        .replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


_TITRATION = ' <span class="badge sev-warning" data-testid="titration-badge">titration</span>'
_OVERDUE = ' <span class="badge sev-refused">overdue</span>'


def queue_rows(
    rows: Iterable[OrderRow], status: str, today: date, order_href: str, rx_href: str
) -> Markup:
    """The <tr> of each order in one queue (a received order links to its prescription)."""
    tz = zone()
    out = []
    for o in rows:
        late = o.promised_on and o.promised_on < today
        number = escape(o.number)
        if status == "received":
            link = (
                f'<a href="{escape(rx_href)}{o.prescription_id}" '
                f'title="Open the prescription to verify it">{number}</a>'
            )
        else:
            link = f'<a href="{escape(order_href)}{o.id}">{number}</a>'
        overdue = ' class="overdue" data-overdue="1"' if late else ""
        out.append(
            f"<tr{overdue}><td>{link}</td>\n"
            f"          <td>{escape(o.patient_name)}</td>\n"
            f"          <td>{escape(o.medicine)} × {escape(grouped(o.quantity))}"
            f"{_TITRATION if o.is_titration else ''}</td>\n"
            f"          <td>{escape(local_text(o.created_at, tz))}</td>"
            f"<td>{escape(local_text(o.promised_on, tz))}{_OVERDUE if late else ''}</td></tr>"
        )
    return Markup("\n        ".join(out))


def lookup_rows(rows: Iterable[OrderRow], order_href: str) -> Markup:
    """The <tr> of each order found by the status look-up."""
    tz = zone()
    href = escape(order_href)
    out = [
        f'<tr><td><a href="{href}{o.id}">{escape(o.number)}</a></td>\n'
        f"      <td>{escape(o.last_name)}, {escape(o.first_name)}</td>\n"
        f"      <td>{escape(local_text(o.date_of_birth, tz))}</td>\n"
        f"      <td>{escape(o.medicine)}{_TITRATION if o.is_titration else ''}</td>\n"
        f'      <td><span class="badge" data-testid="order-status">'
        f"{escape(o.status.replace('_', ' '))}</span></td>\n"
        f"      <td>{escape(local_text(o.promised_on, tz))}</td></tr>"
        for o in rows
    ]
    return Markup("\n    ".join(out))
