"""Pages under load, each against its references measured in the same round.

Two references: a trivial Flask endpoint (what gunicorn + Flask cost) and a signed-in empty
page (what the session and the user cost). Every round measures both references and then
every page; a figure is the median over rounds, and so is each ratio (taken within a round),
because the shared machine's throughput swings between runs and even between seconds.
"""

from __future__ import annotations

import statistics
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from .http_load import Gunicorn, LoadResult, sign_in, wrk


@dataclass
class Measure:
    label: str
    paths: list[str]
    target: float | None = None  # ratio to the signed-in empty page
    api: bool = False
    latency: bool = False  # one client: p95 of sequential requests, not throughput
    p95_target_ms: float | None = None
    results: list[LoadResult] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _check(base: str, path: str, headers: dict) -> None:
    """wrk counts a redirect as a success: make sure each URL answers 200 when signed in."""
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(base + path, headers=headers)
    try:
        status = opener.open(req, timeout=60).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        raise RuntimeError(f"{path} answered {status}, not 200: the bench would measure that")


def measures(s: dict) -> list[Measure]:
    q = urllib.parse.quote_plus
    n = 20  # different URLs of each shape, taken in turn
    return [
        Measure("queue board `/orders/queue`", ["/orders/queue"], 0.5),
        Measure("one queue `/orders/queue?status=verified`", ["/orders/queue?status=verified"]),
        Measure(
            "status page, Rx number",
            [f"/orders/?q={q(v)}" for v in s["rx"][:n]],
            0.5,
        ),
        Measure("status page, name prefix", [f"/orders/?q={q(v)}" for v in s["name"][:n]], 0.5),
        Measure(
            "status page, date of birth",
            [f"/orders/?q={v.isoformat()}" for v in s["dob"][:n]],
            0.5,
        ),
        Measure("status page, phone", [f"/orders/?q={q(v)}" for v in s["phone"][:n]], 0.5),
        Measure("order page `/orders/<id>`", [f"/orders/{i}" for i in s["order_ids"][:n]], 0.5),
        Measure(
            "recall trace page (1 client)",
            [f"/batches/trace?lot_id={s['lot_id']}"],
            latency=True,
            p95_target_ms=100,
        ),
        Measure(
            "recall trace API (1 client)",
            [f"/api/v1/lots/{s['lot_id']}/trace"],
            api=True,
            latency=True,
            p95_target_ms=100,
        ),
    ]


def RECALL(m: Measure) -> bool:  # noqa: N802 - a constant-like filter
    return m.label.startswith("recall trace")


def run(
    report,
    url: str,
    username: str,
    password: str,
    samples: dict,
    api_token: str,
    seconds: int = 5,
    rounds: int = 3,
    only=None,
) -> None:
    """`only`: a test on each Measure (e.g. RECALL) to run some pages, with both references."""
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-" + "x" * 40}
    pages = [m for m in measures(samples) if only is None or only(m)]
    trivial_runs, empty_runs, empty_ratios = [], [], []
    with (
        Gunicorn("bench.trivial_app:app") as trivial,
        Gunicorn("bench.app_wsgi:app", env=env) as app,
    ):
        cookie = sign_in(app.base, username, password)
        browser = {"Cookie": cookie}
        api = {"Authorization": f"Bearer {api_token}"}
        _check(app.base, "/bench/empty", browser)
        for m in pages:
            for path in m.paths:
                _check(app.base, path, api if m.api else browser)
        for _ in range(rounds):
            ref = wrk(f"{trivial.base}/", seconds=seconds)
            empty = wrk(f"{app.base}/bench/empty", seconds=seconds, headers=browser)
            trivial_runs.append(ref)
            empty_runs.append(empty)
            empty_ratios.append(empty.rps / ref.rps)
            for m in pages:
                got = wrk(
                    app.base,
                    seconds=seconds,
                    connections=1 if m.latency else 16,
                    headers=api if m.api else browser,
                    paths=m.paths,
                )
                m.results.append(got)
                m.ratios.append(got.rps / empty.rps)
        peak = app.peak_rss_mb()
    _report(report, rounds, trivial_runs, empty_runs, empty_ratios, pages)
    report.add("peak RSS of one worker after load", f"{peak:.0f} MB")


def _med(results: list[LoadResult], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in results)


def _report(report, rounds, trivial_runs, empty_runs, empty_ratios, pages) -> None:
    ref_rps, empty_rps = _med(trivial_runs, "rps"), _med(empty_runs, "rps")
    report.add(
        f"trivial endpoint (median of {rounds} rounds)",
        f"{ref_rps:,.0f} req/s, p95 {_med(trivial_runs, 'p95_ms'):.1f} ms",
        "rounds: " + ", ".join(f"{r.rps:,.0f}" for r in trivial_runs),
    )
    ratio = statistics.median(empty_ratios)
    report.add(
        "signed-in empty page",
        f"{empty_rps:,.0f} req/s, p95 {_med(empty_runs, 'p95_ms'):.1f} ms",
        "trivial endpoint",
        f"{ratio:.0%}",
        ">= 50%",
        ok=ratio >= 0.5,
    )
    for m in pages:
        errors = sum(r.errors for r in m.results)
        err = f", {errors} errors" if errors else ""
        p95 = _med(m.results, "p95_ms")
        if m.latency:
            report.add(
                m.label,
                f"p95 {p95:.1f} ms, {_med(m.results, 'rps'):.1f} req/s{err}",
                "",
                "",
                f"p95 < {m.p95_target_ms:.0f} ms",
                ok=p95 < m.p95_target_ms and not errors,
            )
            continue
        ratio = statistics.median(m.ratios)
        report.add(
            m.label,
            f"{_med(m.results, 'rps'):,.0f} req/s, p95 {p95:.1f} ms{err}",
            "signed-in empty page",
            f"{ratio:.0%}",
            f">= {m.target:.0%}" if m.target else "",
            ok=(ratio >= m.target and not errors) if m.target else None,
        )
