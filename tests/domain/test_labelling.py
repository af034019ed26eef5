from pharmacy.domain.calc.data import STORAGE_FRIDGE, STORAGE_ROOM_OR_FRIDGE
from pharmacy.domain.labelling import (
    REFRIGERATE,
    label_notes,
    label_storage,
    method_steps,
    requires_refrigeration,
    storage_conflict,
)


def test_non_preserved_aqueous_is_always_refrigerated():
    assert requires_refrigeration("non_preserved_aqueous")
    assert not requires_refrigeration("preserved_aqueous")
    assert label_storage("non_preserved_aqueous", "") == REFRIGERATE
    # a formula that says room temperature cannot give a 14-day aqueous BUD: fridge wins
    assert label_storage("non_preserved_aqueous", "Store at room temperature") == REFRIGERATE
    assert label_storage("non_preserved_aqueous", "Store at 20-25 °C") == REFRIGERATE
    # the formula's own fridge wording is kept; other detail is added to the requirement
    assert label_storage("non_preserved_aqueous", "Store in the refrigerator 2-8 °C") == (
        "Store in the refrigerator 2-8 °C"
    )
    assert label_storage("non_preserved_aqueous", "Protect from light.") == (
        f"{REFRIGERATE} Protect from light."
    )


def test_other_categories_print_the_formula_text_or_the_category_rule():
    assert label_storage("other_nonaqueous", "Store at room temperature 20-25 °C, dry") == (
        "Store at room temperature 20-25 °C, dry"
    )
    assert label_storage("other_nonaqueous", "  ") == STORAGE_ROOM_OR_FRIDGE
    assert label_storage("preserved_aqueous", None) == STORAGE_ROOM_OR_FRIDGE
    assert STORAGE_FRIDGE != STORAGE_ROOM_OR_FRIDGE
    assert label_storage(None, "") == ""


def test_labelling_notes_and_engine_notes_each_once():
    assert label_notes("Shake well.\n\n- Protect from light", ["Shake well"]) == (
        "Shake well.",
        "Protect from light",
    )
    assert label_notes("", ()) == ()


def test_method_steps_are_split_and_renumbered():
    method = (
        "1. Weigh naltrexone HCl (or its aliquot) and MCC.\n"
        "2. Triturate the API with an equal portion of MCC\n"
        "   by geometric dilution.\n"
        "3) Blend 5 minutes."
    )
    assert method_steps(method) == (
        "Weigh naltrexone HCl (or its aliquot) and MCC.",
        "Triturate the API with an equal portion of MCC by geometric dilution.",
        "Blend 5 minutes.",
    )
    assert method_steps("Weigh.\nDissolve.") == ("Weigh.", "Dissolve.")
    assert method_steps(None) == ()


def test_a_formula_storing_non_preserved_aqueous_at_room_temperature_is_refused():
    assert storage_conflict("non_preserved_aqueous", "Store at room temperature") is not None
    assert storage_conflict("non_preserved_aqueous", "Refrigerate") is None
    assert storage_conflict("preserved_aqueous", "Store at room temperature") is None
