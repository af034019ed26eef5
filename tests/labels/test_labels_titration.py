import pytest

from labels import (
    InvalidField,
    LabelDoesNotFit,
    render_titration_calendar,
    render_titration_kit,
    render_titration_labels,
)
from tests.labels.labels_samples import (
    decode_barcodes,
    make_kit,
    page_count,
    page_sizes,
    pdf_text,
)


def test_one_label_per_step_each_with_its_own_directions():
    kit = make_kit()
    pdf = render_titration_labels(kit)
    pages = [pdf_text(pdf, i) for i in range(page_count(pdf))]
    mains = [p for p in pages if "Thomas O'Neill" in p and "Step" in p]
    assert len(mains) == 3
    for i, (step, text) in enumerate(zip(kit.steps, mains, strict=True), start=1):
        assert f"Step {i} of 3: {step.dose} daily" in text
        assert step.directions in text
        assert step.preparation in text
        assert step.batch_number in text
    assert decode_barcodes(pdf) == ["RX000456-00"]


def test_calendar_is_one_letter_page_with_every_day_and_dose():
    kit = make_kit()
    pdf = render_titration_calendar(kit)
    assert page_sizes(pdf) == [(612.0, 792.0)]
    text = pdf_text(pdf)
    assert "Thomas O'Neill" in text and "RX000456" in text and "(217) 555-0142" in text
    for day in ("Mar 16", "Mar 29", "Mar 30", "Apr 26"):
        assert day in text
    assert text.count("1.5 mg") >= 14 and text.count("4.5 mg") >= 14
    assert "Step 2 starts" in text


def test_kit_returns_both_documents():
    docs = render_titration_kit(make_kit(), stock="avery-5163")
    assert page_sizes(docs.labels)[0] == (612.0, 792.0)
    assert page_count(docs.calendar) == 1


def test_a_plan_too_long_for_one_page_is_refused():
    kit = make_kit(
        step_days=(14,) * 9, doses=("0.5", "1", "1.5", "2", "2.5", "3", "3.5", "4", "4.5")
    )
    assert page_count(render_titration_calendar(kit)) == 1  # 18 weeks still fit
    with pytest.raises(LabelDoesNotFit, match="steps"):
        render_titration_calendar(make_kit(step_days=(60, 60, 60)))


def test_overlapping_steps_are_refused():
    kit = make_kit()
    first, second, third = kit.steps
    with pytest.raises(InvalidField, match="steps"):
        type(kit)(**{**kit.__dict__, "steps": (second, first, third)})
