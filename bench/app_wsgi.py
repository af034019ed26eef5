"""The application as served in production, plus one signed-in empty page for the bench.

`/bench/empty` passes through everything a signed-in page pays for (the cookie session, the
server-side session row, the user and roles, the access check, the response headers) and
renders nothing: the middle reference between the trivial endpoint and a real page.
"""

from pharmacy import access
from wsgi import app

access.POLICY["bench_empty"] = access.SIGNED_IN


@app.get("/bench/empty", endpoint="bench_empty")
def bench_empty():
    return "ok"
