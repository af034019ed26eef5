"""Where a page's time goes, in process: `python -m bench.page_profile [--db sqlite|postgresql]`.

The HTTP figures of `make bench` say how fast a page is against its references; this says why.
Each page is called through the application's WSGI entry point (no server, no client) with a
signed-in cookie, the pages in turn over several rounds (as the HTTP bench does); for each it
prints the time per request and its multiple of the signed-in empty page, the SQL statements
and their time (cursor execute to last fetch), and where the time goes: the sign-in check, the
view's statements, rendering, and the rest (Flask, the hooks, the view's own Python and the
ORM). `--profile PATH` adds cProfile's top functions for one page. Uses the bench dataset
`make bench` built."""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import time
import urllib.parse
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine.cursor import CursorFetchStrategy

from .__main__ import HERE, _pg_bench_url, _pg_url


@dataclass
class PageCost:
    """Per request, in ms. `user_ms` is the sign-in check (the session row, user and roles, with
    its statement) and `render_ms` the templates (with any statement run while rendering);
    `sql_ms` counts every statement, wherever it ran, and `view_sql_ms` those of neither."""

    path: str
    ms: float
    statements: float
    sql_ms: float
    user_ms: float = 0.0
    render_ms: float = 0.0
    view_sql_ms: float = 0.0
    x_first: float = 1.0  # this page's time over the first page's, within a round

    @property
    def python_ms(self) -> float:
        return self.ms - self.sql_ms

    @property
    def other_ms(self) -> float:
        """Flask, the hooks, the view's own Python and the ORM outside sign-in and rendering."""
        return self.ms - self.user_ms - self.render_ms - self.view_sql_ms


def _signed_in_cookie(app, username: str, password: str) -> str:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    client.get("/")  # as a browser would: the cookie now holds the CSRF secret too
    return f"pharmacy_session={client.get_cookie('pharmacy_session').value}"


class _Caller:
    """Calls the WSGI app for one path as a server would, and checks it answers 200."""

    def __init__(self, app, path: str, cookie: str):
        from werkzeug.test import EnvironBuilder

        self.app = app
        url = urllib.parse.urlsplit(path)
        builder = EnvironBuilder(path=url.path, query_string=url.query, headers={"Cookie": cookie})
        self.environ = builder.get_environ()
        self.status = ""

    def _start(self, status, _headers, _exc=None):
        self.status = status

    def __call__(self) -> None:
        body = self.app(dict(self.environ), self._start)
        for _chunk in body:
            pass
        body.close()
        if not self.status.startswith("200"):
            raise RuntimeError(f"{self.environ['PATH_INFO']} answered {self.status}, not 200")


_FETCHES = ("fetchone", "fetchmany", "fetchall")


class _Clock:
    """Times, while in use, every statement and the two phases of a request that every page
    has: the sign-in check (Flask-Login's user loader) and template rendering (Flask's
    template signals). A statement is counted in the phase it runs in.

    A statement's time runs from the cursor's execute to its last fetch: SQLite computes rows
    as they are fetched (a board's counts and joins run during its fetches, after execute
    returns), so the driver's fetches are timed too (SQLAlchemy's default cursor strategy)."""

    def __init__(self, app, engine):
        from pharmacy.extensions import login_manager

        self.app, self.engine, self.login_manager = app, engine, login_manager
        self.count, self.sql = 0, 0.0
        self.phase_time = {"user": 0.0, "render": 0.0}
        self.phase_sql = {"user": 0.0, "render": 0.0, None: 0.0}
        self._phase: str | None = None
        self._render_start: list[float] = []

    def _before(self, conn, *_args):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, *_args):
        elapsed = time.perf_counter() - conn.info.pop("bench_t0")
        self.count += 1
        self.sql += elapsed
        self.phase_sql[self._phase] += elapsed

    def _fetching(self, original):
        def fetch(strategy, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(strategy, *args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.sql += elapsed
                self.phase_sql[self._phase] += elapsed

        return fetch

    def _load_user(self, *args):
        start, self._phase = time.perf_counter(), "user"
        try:
            return self._loader(*args)
        finally:
            self._phase = None
            self.phase_time["user"] += time.perf_counter() - start

    def _render_begins(self, _app, **_extra):
        self._render_start.append(time.perf_counter())
        self._phase = "render"

    def _render_ends(self, _app, **_extra):
        self.phase_time["render"] += time.perf_counter() - self._render_start.pop()
        if not self._render_start:
            self._phase = None

    def __enter__(self):
        from flask import before_render_template, template_rendered

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        before_render_template.connect(self._render_begins, self.app)
        template_rendered.connect(self._render_ends, self.app)
        self._loader = self.login_manager._user_callback
        self.login_manager._user_callback = self._load_user
        self._fetches = {name: getattr(CursorFetchStrategy, name) for name in _FETCHES}
        for name, original in self._fetches.items():
            setattr(CursorFetchStrategy, name, self._fetching(original))
        return self

    def __exit__(self, *exc):
        from flask import before_render_template, template_rendered

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        before_render_template.disconnect(self._render_begins, self.app)
        template_rendered.disconnect(self._render_ends, self.app)
        self.login_manager._user_callback = self._loader
        for name, original in self._fetches.items():
            setattr(CursorFetchStrategy, name, original)


def measure(app, engine, path: str, cookie: str, n: int = 300, rounds: int = 3) -> PageCost:
    """One page: see measure_pages."""
    return measure_pages(app, engine, [path], cookie, n, rounds)[0]


def measure_pages(
    app, engine, paths: list[str], cookie: str, n: int = 300, rounds: int = 5
) -> list[PageCost]:
    """Each page's median time over `rounds` rounds of `n` calls, the pages taken in turn
    within each round (so a slow spell of the shared machine falls on all of them alike), and
    each page's time as a multiple of the first page's in the same round (median over rounds).
    Then one more round with the clock on gives the statements and the phases, scaled to the
    median (the clock costs a little itself)."""
    calls = [_Caller(app, path, cookie) for path in paths]
    for call in calls:
        for _ in range(20):
            call()
    times: list[list[float]] = [[] for _ in calls]
    ratios: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        this_round = [_timed(call, n) for call in calls]
        for i, t in enumerate(this_round):
            times[i].append(t)
            ratios[i].append(t / this_round[0])
    costs = []
    for path, call, page_times, page_ratios in zip(paths, calls, times, ratios, strict=True):
        with _Clock(app, engine) as clock:
            clocked = _timed(call, n)
        ms = statistics.median(page_times) * 1000
        # The clocked round's figures, in proportion to the unclocked median.
        scale = min(ms / (clocked * 1000), 1.0) / n * 1000

        costs.append(
            PageCost(
                path,
                ms,
                clock.count / n,
                clock.sql * scale,
                user_ms=clock.phase_time["user"] * scale,
                render_ms=clock.phase_time["render"] * scale,
                view_sql_ms=clock.phase_sql[None] * scale,
                x_first=statistics.median(page_ratios),
            )
        )
    return costs


def _timed(call: _Caller, n: int) -> float:
    """Seconds per call, over n calls."""
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


def profile(app, path: str, cookie: str, n: int = 300, top: int = 25) -> str:
    import io

    call = _Caller(app, path, cookie)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        call()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def pages(app) -> list[str]:
    """The pages `make bench` loads, one example of each shape, plus a page that only extends
    the layout (what every HTML page pays for base.html)."""
    from pharmacy.extensions import db
    from pharmacy.models import Order, Patient, Prescription

    with app.app_context():
        rx = db.session.query(Prescription.rx_number).order_by(Prescription.id).first()[0]
        name, dob, phone = (
            db.session.query(Patient.name_key, Patient.date_of_birth, Patient.phone_digits)
            .order_by(Patient.id)
            .offset(499)
            .first()
        )
        order_id = db.session.query(Order.id).order_by(Order.id).offset(4999).first()[0]
        db.session.rollback()
    q = urllib.parse.quote_plus
    prefix = name[: name.index(" ") + 3] if " " in name else name
    return [
        "/bench/empty",
        "/bench/layout",
        "/orders/queue",
        "/orders/queue?status=verified",
        f"/orders/?q={q(rx)}",
        f"/orders/?q={q(prefix)}",
        f"/orders/?q={dob.isoformat()}",
        f"/orders/?q={phone[-7:]}",
        f"/orders/{order_id}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.page_profile")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--orders", type=int, default=int(os.environ.get("BENCH_ORDERS", 1_000_000))
    )
    parser.add_argument("-n", type=int, default=200, help="requests per page per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, the pages in turn in each")
    parser.add_argument("--profile", metavar="PATH", help="also print cProfile's top functions")
    args = parser.parse_args()
    if args.db == "sqlite":
        url = f"sqlite:///{HERE / f'bench-{args.orders}.db'}"
    else:
        pg = _pg_url() or parser.error("--db postgresql needs TEST_DATABASE_URL or DATABASE_URL")
        url = _pg_bench_url(pg, args.orders)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-secret-" + "x" * 40)
    from pharmacy.demo import DEMO_PASSWORD
    from pharmacy.extensions import db

    from .app_wsgi import app

    with app.app_context():
        engine = db.engine
    cookie = _signed_in_cookie(app, "pharmacist", DEMO_PASSWORD)
    costs = measure_pages(app, engine, pages(app), cookie, n=args.n, rounds=args.rounds)
    print(
        f"{args.db}, {args.orders:,} orders: in process, median of {args.rounds} rounds of"
        f" {args.n} requests a page, the pages in turn; x empty: median of the ratios within a round"
    )
    print(
        f"{'page':<34} {'ms':>6} {'x empty':>8} {'SQL':>4} {'SQL ms':>7} {'Python ms':>10}"
        f" {'sign-in':>8} {'view SQL':>9} {'render':>7} {'other':>6}"
    )
    for c in costs:
        print(
            f"{c.path[:34]:<34} {c.ms:6.3f} {c.x_first:8.2f} {c.statements:4.0f} "
            f"{c.sql_ms:7.3f} {c.python_ms:10.3f} {c.user_ms:8.3f} {c.view_sql_ms:9.3f}"
            f" {c.render_ms:7.3f} {c.other_ms:6.3f}"
        )
    print(
        "sign-in: the user loader (session row, user, roles, with its statement); view SQL: the"
        " other statements outside rendering; render: the templates; other: Flask, the hooks,"
        " the view's Python and the ORM around its statements."
    )
    if args.profile:
        print(profile(app, args.profile, cookie, n=args.n))


if __name__ == "__main__":
    main()
