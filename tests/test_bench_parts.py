"""`python -m bench --parts`: run some parts only; by default (make bench) all of them."""

from __future__ import annotations

import argparse

import pytest

from bench.__main__ import PARTS, _parts


def test_parts_are_checked_and_default_to_all():
    assert _parts("http") == ("http",)
    assert _parts(" http , lookups") == ("http", "lookups")
    assert set(PARTS) == {"lookups", "recall", "audit", "http", "labels", "writes"}
    for bad in ("", "htp", "http,nope"):
        with pytest.raises(argparse.ArgumentTypeError):
            _parts(bad)
