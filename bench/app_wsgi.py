"""The application as served in production, plus two bench-only pages.

`/bench/empty` passes through everything a signed-in page pays for (the cookie session, the
server-side session row, the user and roles, the access check, the response headers) and
renders nothing: the middle reference between the trivial endpoint and a real page.
`/bench/layout` is the same plus the layout every HTML page extends (base.html: navigation,
user, sign-out form with its CSRF token) around an empty block (bench.page_profile).
"""

from flask import render_template
from jinja2 import ChoiceLoader, DictLoader

from pharmacy import access
from wsgi import app

access.POLICY["bench_empty"] = access.SIGNED_IN
access.POLICY["bench_layout"] = access.SIGNED_IN
app.jinja_env.loader = ChoiceLoader(
    [
        app.jinja_env.loader,
        DictLoader(
            {"bench/layout.html": '{% extends "base.html" %}{% block content %}{% endblock %}'}
        ),
    ]
)


@app.get("/bench/empty", endpoint="bench_empty")
def bench_empty():
    return "ok"


@app.get("/bench/layout", endpoint="bench_layout")
def bench_layout():
    return render_template("bench/layout.html")
