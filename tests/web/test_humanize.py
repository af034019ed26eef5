"""Plain words: rule codes and internal keys never reach a person; quantities are grouped."""

from decimal import Decimal as D

from pharmacy.errors import plain_error
from pharmacy.web.humanize import grouped, plain, term


def test_rule_codes_and_keys_become_words():
    assert plain("R12: an LDN strength must not exceed 6 mg per dose") == (
        "an LDN strength must not exceed 6 mg per dose"
    )
    assert plain("R10: category other_nonaqueous does not apply to a oral_solution") == (
        "category other nonaqueous dosage forms incl. capsules does not apply to a oral solution"
    )
    assert term("capsule_shell") == "capsule shell" and term(None) == ""
    assert plain("see /batches/in_progress and x.y_z") == "see /batches/in_progress and x.y_z"


def test_field_errors_name_the_field_in_words():
    assert plain_error("component_expiries[0].expires", "R10: an expiry date is required") == (
        "Expires: an expiry date is required"
    )
    assert plain_error("dose_mg", "Dose mg must be positive") == "Dose mg must be positive"
    assert plain_error("dose_mg", "Must be positive") == "Dose mg: must be positive"


def test_a_whole_sentence_keeps_its_capital_after_the_field():
    # Was "Training: newtech may not do...": a person's name lower-cased.
    assert plain_error("training", "Newtech may not do compounding: none recorded.") == (
        "Training: Newtech may not do compounding: none recorded."
    )


def test_codes_and_acronyms_keep_their_capitals_after_the_field():
    assert plain_error("strength_mg", "LDN-SOL v1 is made at 10 mg/mL") == (
        "Strength mg: LDN-SOL v1 is made at 10 mg/mL"
    )
    assert (
        plain_error("prescriber_id", "NPI 123 is not valid")
        == "Prescriber id: NPI 123 is not valid"
    )


def test_only_decimal_quantities_are_grouped():
    assert grouped(D("19941.92")) == "19,941.92"
    assert grouped(D("1000")) == "1,000"
    assert grouped(D("458.08")) == D("458.08")
    assert grouped(12345) == 12345  # ids and numbers in URLs stay as they are


def test_times_on_pages_are_local(app):
    from datetime import UTC, datetime

    app.config["TIMEZONE"] = "Asia/Tokyo"
    with app.test_request_context():
        dt = app.jinja_env.filters["dt"]
        assert dt(datetime(2026, 1, 5, 23, 30, tzinfo=UTC)) == "2026-01-06 08:30"
        assert dt(datetime(2026, 1, 5, 23, 30)) == "2026-01-06 08:30"  # SQLite: naive UTC
