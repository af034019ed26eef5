"""Weighing and quality-check controls (pure rules)."""

from decimal import Decimal as D

from pharmacy.domain import formula_rules, weighing


def test_api_tolerance_defaults_to_5_and_is_capped_at_10():
    assert weighing.api_tolerance(None) == D("5")
    assert weighing.api_tolerance(D("3")) == D("3")
    assert weighing.api_tolerance(D("25")) == D("10")
    assert weighing.api_out_of_tolerance(D("100"), D("105"), D("5")) is False
    assert weighing.api_out_of_tolerance(D("100"), D("105.01"), D("5")) is True


def test_fill_tolerance_never_looser_than_10():
    assert weighing.fill_tolerance(D("25")) == D("10")
    assert weighing.fill_tolerance(D("7.5")) == D("7.5")


def test_formula_controls_name_each_field_and_limit():
    errors = weighing.check_controls(D("12"), D("15"), 5, "capsule")
    by_field = {e.field: e.message for e in errors}
    assert "at most 10%" in by_field["api_tolerance_percent"]
    assert "at most 10%" in by_field["weight_tolerance_percent"]
    assert "at least 10" in by_field["qc_sample_size"]
    assert weighing.check_controls(D("5"), D("10"), 10, "capsule") == []
    # A liquid has no capsule sample.
    assert weighing.check_controls(D("5"), D("10"), 0, "liquid") == []


def test_qc_sample_is_at_least_10_or_the_whole_batch():
    assert weighing.qc_sample_size(5, 100) == 10
    assert weighing.qc_sample_size(20, 100) == 20
    assert weighing.qc_sample_size(10, 6) == 6
    assert weighing.qc_sample_size(None, None) == 10


def test_liquid_final_volume_within_5_percent():
    assert weighing.volume_deviation(D("150"), D("142.5")) == (D("5.00"), True)
    assert weighing.volume_deviation(D("150"), D("142")) == (D("5.33"), False)


def test_weight_below_the_minimum_weighable_quantity():
    assert weighing.below_mwq(D("119.99"), D("120")) is True
    assert weighing.below_mwq(D("120"), D("120")) is False


def test_potency_on_the_anhydrous_basis():
    # as is 97.9 % with 0.5 % water = 98.39 % anhydrous: in range
    assert weighing.anhydrous_potency(D("97.9"), "as_is", D("0.5")) == D("98.39")
    assert weighing.potency_out_of_range(D("98.39")) is False
    assert weighing.anhydrous_potency(D("97.5"), "as_is", None) == D("97.5")
    assert weighing.potency_out_of_range(D("97.5")) is True
    assert weighing.anhydrous_potency(D("102.3"), "anhydrous", D("1")) == D("102.3")
    assert weighing.potency_out_of_range(D("102.3")) is True
    assert weighing.potency_out_of_range(None) is False


def test_rescaling_keeps_the_strength_of_every_unit():
    assert weighing.rescale(D("19941.92"), D("1.07")) == D("21337.8544")
    assert weighing.rescale_units(102, D("1.07")) == 109
    assert weighing.rescale_units(102, D("0.95")) == 96


def test_formula_rules_use_the_weighing_limits():
    spec = formula_rules.FormulaSpec(
        code="LDN-CAPX",
        name="x",
        dosage_form="capsule",
        strength_min_mg=D("0.5"),
        strength_max_mg=D("4.5"),
        overage_percent=D("2"),
        bud_category="other_nonaqueous",
        storage="room",
        container="vial",
        method="mix",
        weight_tolerance_percent=D("15"),
        qc_sample_size=10,
        api_tolerance_percent=D("11"),
        capsule_size="1",
        packing_stat_mg=D("200"),
        lines=(
            formula_rules.LineSpec("Naltrexone HCl", "active"),
            formula_rules.LineSpec("Microcrystalline cellulose", "filler"),
        ),
    )
    try:
        formula_rules.validate_formula(spec)
    except formula_rules.ValidationFailed as exc:
        fields = {e.field for e in exc.errors}
    else:  # pragma: no cover
        fields = set()
    assert {"weight_tolerance_percent", "api_tolerance_percent"} <= fields
