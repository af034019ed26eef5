"""`make run` says what it is doing and serves on the port given as PORT."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_takes_port_and_announces_each_step(tmp_path):
    stamp = tmp_path / "stamp"
    out = subprocess.run(
        ["make", "-n", "-B", "run", "PORT=8123", f"STAMP={stamp}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--port 8123" in out and "http://127.0.0.1:8123/" in out
    assert "Creating the Python environment" in out and "--progress-bar on" in out
    assert "--quiet" not in out
