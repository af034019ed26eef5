"""HTTP load on loopback: gunicorn with 2 workers, wrk as the load generator."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("P95_US=%d\\n", latency:percentile(95)))
  io.write(string.format("ERRORS=%d\\n", summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class LoadResult:
    rps: float
    p95_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, target: str, env: dict | None = None, workers: int = 2):
        self.port = free_port()
        self.target = target
        self.env = {**os.environ, **(env or {})}
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(
            [
                gunicorn,
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                self.target,
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.target} did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def peak_rss_mb(self) -> float:
        peaks = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            m = re.search(r"VmHWM:\s+(\d+) kB", status)
            if m:
                peaks.append(int(m.group(1)) / 1024)
        return max(peaks) if peaks else float("nan")

    def __exit__(self, *exc):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def sign_in(base: str, username: str, password: str) -> str:
    """Sign in through the real form and return the Cookie header value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrf_token": token, "username": username, "password": password}
    ).encode()
    opener.open(f"{base}/login", data=data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _lua(paths: list[str] | None) -> str:
    if not paths:
        return LUA
    # Several URLs of one shape (different orders, names, lots), taken in turn.
    listed = ", ".join('"' + p.replace('"', "%22") + '"' for p in paths)
    return (
        LUA
        + f"paths = {{{listed}}}\n"
        + "i = 0\n"
        + "request = function()\n"
        + "  i = i % #paths + 1\n"
        + "  return wrk.format(nil, paths[i])\n"
        + "end\n"
    )


def wrk(
    url: str,
    seconds: int = 10,
    connections: int = 16,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    paths: list[str] | None = None,
) -> LoadResult:
    """Load `url` (or, with `paths`, the base `url` and each path in turn)."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_lua(paths))
        script = fh.name
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p95 = int(re.search(r"P95_US=(\d+)", out).group(1)) / 1000
    errors = int(re.search(r"ERRORS=(\d+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return LoadResult(rps, p95, errors + (int(non2xx.group(1)) if non2xx else 0))
