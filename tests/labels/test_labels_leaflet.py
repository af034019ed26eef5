import pytest

from labels import InvalidField, render_leaflet
from tests.labels.labels_samples import PHARMACY, make_leaflet, page_count, page_sizes, pdf_text


def test_leaflet_covers_the_counselling_points():
    pdf = render_leaflet(make_leaflet())
    assert all(size == (612.0, 792.0) for size in page_sizes(pdf))
    text = pdf_text(pdf)
    for expected in (
        "What is LDN?",
        "same time every day",
        "at bedtime",
        "Trouble sleeping (insomnia)",
        "Vivid or unusual dreams",
        "Headache",
        "Mild nausea",
        "usually mild and temporary",
        "Do not take LDN with opioid pain medicines",
        "Pregnancy and breastfeeding:",
        "Liver:",
        "When to call your pharmacist",
        f"Call {PHARMACY.name} on {PHARMACY.phone} if:",
        "Prepared for Maria Gonzalez",
        "Your directions: Take 1 capsule by mouth once daily at bedtime.",
    ):
        assert expected in text, expected


def test_symptom_journal_page_is_last_and_has_a_grid_of_weeks():
    pdf = render_leaflet(make_leaflet())
    journal = pdf_text(pdf, page_count(pdf) - 1)
    assert "My LDN symptom journal — weeks 1 to 12" in journal
    assert "Mar 14" in journal and "May 30" in journal  # week 1 and week 12
    for row in ("Dose (mg)", "Trouble sleeping (0-3)", "Vivid dreams (0-3)", "Headache (0-3)"):
        assert row in journal


def test_longer_journals_continue_on_more_pages():
    short = page_count(render_leaflet(make_leaflet()))
    pdf = render_leaflet(make_leaflet(journal_weeks=24))
    assert page_count(pdf) == short + 1
    assert "weeks 13 to 24" in pdf_text(pdf, page_count(pdf) - 1)
    with pytest.raises(InvalidField):
        make_leaflet(journal_weeks=0)


def test_leaflet_escapes_patient_text():
    name = "Ann <b>Bold</b> O'Brien & Co"
    assert f"Prepared for {name}" in pdf_text(render_leaflet(make_leaflet(patient_name=name)))
