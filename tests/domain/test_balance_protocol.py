"""MT-SICS and Sartorius SBI replies parsed to readings (pure, no serial line)."""

from decimal import Decimal as D

import pytest

from pharmacy.domain import balance_protocol as bp


def test_commands():
    assert bp.command("mt-sics") == b"S\r\n"
    assert bp.command("mt-sics", stable_only=False) == b"SI\r\n"
    assert bp.command("sbi") == b"\x1bP\r\n"


@pytest.mark.parametrize(
    ("line", "reading"),
    [
        (b"S S     12.3456 g\r\n", bp.Reading(D("12.3456"), "g", True)),
        (b"SI D     0.1200 g\r\n", bp.Reading(D("0.1200"), "g", False)),
        (b"S S   458.08 mg\r\n", bp.Reading(D("458.08"), "mg", True)),
        (b"SI S    -0.0003 g\r\n", bp.Reading(D("-0.0003"), "g", True)),
    ],
)
def test_mt_sics_replies(line, reading):
    assert bp.parse("mt-sics", line) == reading


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"S I\r\n", "busy"),
        (b"S +\r\n", "overloaded"),
        (b"S -\r\n", "underloaded"),
        (b"ES\r\n", "did not understand"),
        (b"garbage\r\n", "unexpected reply"),
    ],
)
def test_mt_sics_refusals(line, message):
    with pytest.raises(bp.BalanceError, match=message):
        bp.parse_mt_sics(line)


@pytest.mark.parametrize(
    ("line", "reading"),
    [
        (b"G     +   12.3456 g  \r\n", bp.Reading(D("12.3456"), "g", True)),
        (b"    +  458.08 mg \r\n", bp.Reading(D("458.08"), "mg", True)),
        (b"G     -    0.0100 g  \r\n", bp.Reading(D("-0.0100"), "g", True)),
        (b"G     +   12.3400    \r\n", bp.Reading(D("12.3400"), "", False)),
    ],
)
def test_sbi_replies(line, reading):
    assert bp.parse("sbi", line) == reading


def test_sbi_overload_and_simulator_formats_round_trip():
    with pytest.raises(bp.BalanceError, match="overloaded"):
        bp.parse_sbi(b"High\r\n")
    for protocol, fmt in (("mt-sics", bp.format_mt_sics), ("sbi", bp.format_sbi)):
        assert bp.parse(protocol, fmt(D("0.4581"), "g", True)) == bp.Reading(D("0.4581"), "g", True)


def test_stable_positive_weight_required_and_unit_conversion():
    with pytest.raises(bp.BalanceError, match="not stable"):
        bp.require_stable(bp.Reading(D("1"), "g", False))
    with pytest.raises(bp.BalanceError, match="zero or less"):
        bp.require_stable(bp.Reading(D("0"), "g", True))
    assert bp.Reading(D("0.45808"), "g", True).in_unit("mg") == D("458.08")
    with pytest.raises(bp.BalanceError, match="cannot be taken as mg"):
        bp.Reading(D("1"), "ct", True).in_unit("mg")
