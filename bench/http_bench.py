"""The queue board and the status page under load, against a trivial Flask endpoint."""

from __future__ import annotations

from .http_load import Gunicorn, sign_in, wrk


def run(report, url: str, username: str, password: str, seconds: int = 10) -> None:
    with Gunicorn("bench.trivial_app:app") as trivial:
        ref = wrk(f"{trivial.base}/", seconds=seconds)
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-" + "x" * 40}
    with Gunicorn("wsgi:app", env=env) as server:
        cookie = sign_in(server.base, username, password)
        for path, label in (
            ("/orders/queue", "queue board"),
            ("/orders/?q=ellis+ma", "status page (name search)"),
        ):
            got = wrk(f"{server.base}{path}", seconds=seconds, cookie=cookie)
            ratio = got.rps / ref.rps
            report.add(
                f"{label}: req/s, p95",
                f"{got.rps:,.0f} req/s, {got.p95_ms:.1f} ms"
                + (f", {got.errors} errors" if got.errors else ""),
                f"trivial {ref.rps:,.0f} req/s, {ref.p95_ms:.1f} ms",
                f"{ratio:.0%}",
                ">= 40%",
                ok=ratio >= 0.40 and got.errors == 0,
            )
        report.add("peak RSS of one worker after load", f"{server.peak_rss_mb():.0f} MB")
