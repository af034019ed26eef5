from decimal import Decimal

import pytest

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.opioids import find_opioids, load_catalogue, parse_catalogue
from pharmacy.domain.screening import (
    Finding,
    PatientFacts,
    PrescriptionFacts,
    ScreeningLimits,
    blocking_findings,
    blocks_verification,
    can_override,
    screen,
)
from pharmacy.domain.titration import TitrationStep

CLEAN = PatientFacts()
RX_3MG = PrescriptionFacts(Decimal("3"), "hcl", 1)


def codes(findings):
    return [(f.code, f.severity) for f in findings]


def test_typical_prescription_for_a_healthy_patient_has_no_findings():
    assert screen(CLEAN, RX_3MG) == []


# --- dose ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "strength,per_day,expected",
    [
        ("0.5", 1, []),
        ("4.5", 1, []),
        ("0.25", 2, []),  # 0.5 mg a day
        ("0.4", 1, [("dose_below_usual_range", "warning")]),
        ("4.6", 1, [("dose_above_usual_range", "warning")]),
        ("3", 2, [("dose_above_usual_range", "warning")]),  # 6 mg a day
        ("6.0", 1, [("dose_above_usual_range", "warning")]),  # at the LDN bound: warn, not refuse
        (
            "6.01",
            1,
            [("strength_above_ldn_bound", "refused"), ("dose_above_usual_range", "warning")],
        ),
        ("50", 1, [("strength_above_ldn_bound", "refused"), ("dose_above_usual_range", "warning")]),
    ],
)
def test_dose_rules(strength, per_day, expected):
    assert codes(screen(CLEAN, PrescriptionFacts(Decimal(strength), "hcl", per_day))) == expected


def test_dose_message_names_value_and_rule():
    [finding] = screen(CLEAN, PrescriptionFacts(Decimal("0.25"), "base", 1))
    assert finding.message == (
        "Daily dose below the usual LDN range of 0.5–4.5 mg a day (naltrexone base): "
        "prescribed dose: 0.25 mg × 1 dose a day = 0.25 mg a day. "
        "Confirm the intended dose with the prescriber."
    )


def test_refusal_message():
    finding = screen(CLEAN, PrescriptionFacts(Decimal("8"), "hcl", 1))[0]
    assert finding == Finding(
        "strength_above_ldn_bound",
        "refused",
        "Not low-dose naltrexone: LDN is at most 6 mg per dose (naltrexone HCl), "
        "and this prescription has prescribed dose: 8 mg per dose.",
    )


def test_every_titration_step_is_checked():
    rx = PrescriptionFacts(
        Decimal("4.5"),
        "hcl",
        1,
        titration=[
            TitrationStep(Decimal("0.25"), 14),
            TitrationStep(Decimal("3"), 14),
            TitrationStep(Decimal("7"), 7),
        ],
    )
    found = screen(CLEAN, rx)
    assert codes(found) == [
        ("strength_above_ldn_bound", "refused"),
        ("dose_below_usual_range", "warning"),
        ("dose_above_usual_range", "warning"),
    ]
    assert "titration step 3: 7 mg per dose" in found[0].message
    assert "titration step 1: 0.25 mg × 1 dose a day" in found[1].message
    assert "prescribed dose" not in found[1].message


def test_unit_titration_steps_count_units_of_the_prescribed_strength():
    rx = PrescriptionFacts(
        Decimal("1.5"),
        "hcl",
        1,
        titration=[
            TitrationStep(None, 14, units_per_dose=Decimal(1)),
            TitrationStep(None, 14, units_per_dose=Decimal(5)),
        ],
    )
    found = screen(CLEAN, rx)
    assert codes(found) == [
        ("strength_above_ldn_bound", "refused"),
        ("dose_above_usual_range", "warning"),
    ]
    assert "titration step 2: 7.5 mg per dose" in found[0].message


def test_basis_is_informational_strengths_compared_as_given():
    # 4.5 mg base is about 4.98 mg HCl; it is compared as 4.5 and raises nothing.
    assert screen(CLEAN, PrescriptionFacts(Decimal("4.5"), "base", 1)) == []


def test_limits_are_configurable():
    lim = ScreeningLimits(max_strength_mg_per_dose=Decimal("10"), usual_daily_max_mg=Decimal("9"))
    assert screen(CLEAN, PrescriptionFacts(Decimal("8"), "hcl", 1), limits=lim) == []
    assert codes(screen(CLEAN, PrescriptionFacts(Decimal("10.5"), "hcl", 1), limits=lim)) == [
        ("strength_above_ldn_bound", "refused"),
        ("dose_above_usual_range", "warning"),
    ]


# --- opioids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry,generic,category",
    [
        ("Tramadol 50mg BID", "tramadol", "analgesic"),
        ("tramadol50mg", "tramadol", "analgesic"),
        ("ULTRAM 50 MG", "tramadol", "analgesic"),
        ("Tylenol #3 prn", "codeine", "analgesic"),
        ("Tylenol No. 4", "codeine", "analgesic"),
        ("acetaminophen-codeine 300/30", "codeine", "analgesic"),
        ("morphine sulfate ER 15 mg", "morphine", "analgesic"),
        ("MS Contin 30mg q12h", "morphine", "analgesic"),
        ("oxycodone/APAP 5/325", "oxycodone", "analgesic"),
        ("OxyContin", "oxycodone", "analgesic"),
        ("Percocet", "oxycodone", "analgesic"),
        ("Roxicodone", "oxycodone", "analgesic"),
        ("Norco 10/325", "hydrocodone", "analgesic"),
        ("vicodin", "hydrocodone", "analgesic"),
        ("Hysingla ER", "hydrocodone", "analgesic"),
        ("Duragesic 25 mcg/h patch", "fentanyl", "analgesic"),
        ("Actiq", "fentanyl", "analgesic"),
        ("Nucynta", "tapentadol", "analgesic"),
        ("Dilaudid 2mg", "hydromorphone", "analgesic"),
        ("Opana ER", "oxymorphone", "analgesic"),
        ("Demerol", "meperidine", "analgesic"),
        ("pethidine", "meperidine", "analgesic"),
        ("Methadone 80 mg daily (clinic)", "methadone", "dependence_treatment"),
        ("Methadose", "methadone", "dependence_treatment"),
        ("Dolophine 10 mg for pain", "methadone", "analgesic"),
        ("Suboxone 8/2 SL film", "buprenorphine", "dependence_treatment"),
        ("buprenorphine/naloxone", "buprenorphine", "dependence_treatment"),
        ("Subutex", "buprenorphine", "dependence_treatment"),
        ("Zubsolv", "buprenorphine", "dependence_treatment"),
        ("Sublocade monthly injection", "buprenorphine", "dependence_treatment"),
        ("Butrans 10 mcg/h", "buprenorphine", "analgesic"),
        ("Belbuca", "buprenorphine", "analgesic"),
        ("levorphanol", "levorphanol", "analgesic"),
        ("Talwin", "pentazocine", "analgesic"),
        ("butorphanol nasal spray", "butorphanol", "analgesic"),
        ("Nalbuphine", "nalbuphine", "analgesic"),
        ("dihydrocodeine", "dihydrocodeine", "analgesic"),
        ("sufentanil", "sufentanil", "analgesic"),
        ("remifentanil", "remifentanil", "analgesic"),
        ("alfentanil", "alfentanil", "analgesic"),
        ("Paregoric 5 mL", "opium", "analgesic"),
        ("opium tincture", "opium", "analgesic"),
        ("Tussionex", "hydrocodone", "antitussive"),
        ("kratom", "kratom", "other"),
    ],
)
def test_opioids_match_by_generic_and_brand(entry, generic, category):
    [match] = find_opioids([entry])
    assert (match.medication, match.generic, match.category) == (entry, generic, category)


@pytest.mark.parametrize(
    "entry",
    [
        "apomorphine 2 mg",  # contains "morphine", is a dopamine agonist
        "Dextromethorphan 30mg",
        "loperamide 2mg prn",
        "Imodium",
        "Lomotil",
        "naloxone nasal spray",
        "Narcan",
        "Relistor (methylnaltrexone)",
        "naltrexone 4.5 mg",
        "Tylenol 500 mg",  # plain acetaminophen, not Tylenol #3
        "Tylenol 325mg",
        "Codeinex-free cough drops",  # "codeine" only as part of another word
        "Levothyroxine 50 mcg",
        "Metformin",
        "",
    ],
)
def test_non_opioids_and_lookalike_words_do_not_match(entry):
    assert find_opioids([entry]) == []


def test_the_documented_exclusions_never_match():
    catalogue = load_catalogue()
    assert "loperamide" in catalogue.not_matched
    assert find_opioids(catalogue.not_matched) == []


def test_combination_entry_reports_each_opioid_once_with_the_most_specific_name():
    matches = find_opioids(["Tylenol #3 (codeine) and oxycodone"])
    assert [(m.generic, m.matched_name) for m in matches] == [
        ("codeine", "Tylenol #3"),
        ("oxycodone", "oxycodone"),
    ]


def test_opioid_finding_is_contraindicated_and_names_the_medication():
    patient = PatientFacts(
        medications=["Levothyroxine 50 mcg", "Tramadol 50mg BID", "Suboxone 8/2"]
    )
    found = screen(patient, RX_3MG)
    assert codes(found) == [("opioid_comedication", "contraindicated")] * 2
    assert found[0].message.startswith(
        "Current medication “Tramadol 50mg BID” is an opioid analgesic: tramadol. "
        "Naltrexone blocks opioid receptors"
    )
    assert "precipitate acute opioid withdrawal" in found[0].message
    assert found[1].message.startswith(
        "Current medication “Suboxone 8/2” is an opioid-dependence treatment: buprenorphine (Suboxone)."
    )


def test_catalogue_rejects_unknown_category_and_empty_names():
    with pytest.raises(ValueError, match="unknown category"):
        parse_catalogue({"opioids": [{"generic": "x", "category": "pain"}]})
    with pytest.raises(ValueError, match="no words"):
        parse_catalogue({"opioids": [{"generic": "x", "category": "other", "brands": ["#"]}]})


def test_a_custom_catalogue_can_be_passed():
    catalogue = parse_catalogue(
        {"opioids": [{"generic": "newdrug", "category": "analgesic", "brands": ["Newbrand"]}]}
    )
    found = screen(PatientFacts(medications=["NEWBRAND 5 mg"]), RX_3MG, catalogue=catalogue)
    assert codes(found) == [("opioid_comedication", "contraindicated")]


# --- clinical flags -----------------------------------------------------------------------


def test_pregnancy_and_breastfeeding_are_warnings():
    found = screen(PatientFacts(pregnant=True, breastfeeding=True), RX_3MG)
    assert codes(found) == [("pregnancy", "warning"), ("breastfeeding", "warning")]
    assert "pregnant" in found[0].message and "breastfeeding" in found[1].message


@pytest.mark.parametrize(
    "liver,expected",
    [
        ("none", []),
        ("acute_hepatitis", [("liver_disease", "contraindicated")]),
        ("liver_failure", [("liver_disease", "contraindicated")]),
        ("other", [("liver_disease", "warning")]),
    ],
)
def test_liver_disease(liver, expected):
    found = screen(PatientFacts(liver_disease=liver), RX_3MG)
    assert codes(found) == expected
    if liver == "acute_hepatitis":
        assert found[0].message.startswith(
            "Patient has acute hepatitis: naltrexone is contraindicated"
        )


# --- allergies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "allergy", ["Naltrexone", "naltrexone HCl (rash)", "LDN", "Vivitrol", "Revia - hives"]
)
def test_allergy_to_naltrexone(allergy):
    found = screen(PatientFacts(allergies=[allergy]), RX_3MG)
    assert codes(found) == [("allergy_naltrexone", "contraindicated")]
    assert f"“{allergy}”" in found[0].message


@pytest.mark.parametrize(
    "allergy,excipient",
    [
        ("lactose", "Lactose monohydrate NF"),
        ("Lactose (hives)", "lactose monohydrate"),
        ("lactose intolerance", "Lactose"),
        ("allergic to gelatin", "Gelatin capsule size 3 white"),
        ("Avicel (microcrystalline cellulose)", "Microcrystalline cellulose"),
        ("cellulose", "Microcrystalline cellulose (Avicel PH-102)"),
        ("Sucrose; penicillin", "sucrose"),
    ],
)
def test_allergy_to_an_excipient_of_the_chosen_formula(allergy, excipient):
    found = screen(
        PatientFacts(allergies=[allergy]), RX_3MG, excipients=[excipient, "Sodium bicarbonate"]
    )
    assert codes(found) == [("allergy_excipient", "contraindicated")]
    assert found[0].message.startswith(f"Recorded allergy “{allergy}” matches “{excipient}”")


@pytest.mark.parametrize(
    "allergy", ["Penicillin (1998)", "Red dye 40", "NKDA", "sulfa", "shellfish", "hives", "capsule"]
)
def test_unrelated_allergies_do_not_match_excipients(allergy):
    excipients = ["Microcrystalline cellulose", "Gelatin capsule red size 3", "Lactose monohydrate"]
    assert screen(PatientFacts(allergies=[allergy]), RX_3MG, excipients=excipients) == []


# --- duplicates ---------------------------------------------------------------------------


def test_duplicate_active_prescription_is_a_warning_naming_it():
    found = screen(CLEAN, RX_3MG, other_active_prescriptions=["RX000045K", 77])
    assert codes(found) == [("duplicate_prescription", "warning")]
    assert "(RX000045K, 77)" in found[0].message


# --- ordering, blocking -------------------------------------------------------------------


def test_findings_come_most_serious_first():
    patient = PatientFacts(medications=["Norco"], pregnant=True, liver_disease="other")
    found = screen(
        patient, PrescriptionFacts(Decimal("7"), "hcl", 1), other_active_prescriptions=["RX1"]
    )
    assert codes(found) == [
        ("strength_above_ldn_bound", "refused"),
        ("opioid_comedication", "contraindicated"),
        ("dose_above_usual_range", "warning"),
        ("pregnancy", "warning"),
        ("liver_disease", "warning"),
        ("duplicate_prescription", "warning"),
    ]
    assert found[0].as_dict()["severity"] == "refused"


def test_warnings_never_block():
    found = screen(PatientFacts(pregnant=True), PrescriptionFacts(Decimal("0.1"), "hcl", 1))
    assert not blocks_verification(found)


def test_contraindication_blocks_until_overridden():
    found = screen(PatientFacts(medications=["Tramadol"], liver_disease="acute_hepatitis"), RX_3MG)
    assert blocks_verification(found)
    assert [f.code for f in blocking_findings(found, overridden={"opioid_comedication"})] == [
        "liver_disease"
    ]
    assert not blocks_verification(found, overridden=["opioid_comedication", "liver_disease"])
    assert all(can_override(f) for f in found)


def test_refusal_can_never_be_overridden():
    found = screen(CLEAN, PrescriptionFacts(Decimal("50"), "hcl", 1))
    assert blocks_verification(
        found, overridden={"strength_above_ldn_bound", "dose_above_usual_range"}
    )
    assert not can_override(found[0])


# --- bad input ----------------------------------------------------------------------------


def test_bad_input_names_every_field():
    patient = PatientFacts(
        medications="tramadol", allergies=[None], pregnant="yes", liver_disease="cirrhosis"
    )
    rx = PrescriptionFacts(
        Decimal("0"),
        "salt",
        0,
        titration=[TitrationStep(Decimal("1"), 0), TitrationStep(Decimal("-1"), 7)],
    )
    with pytest.raises(ValidationFailed) as exc:
        screen(patient, rx)
    assert [e.field for e in exc.value.errors] == [
        "patient.medications",
        "patient.allergies",
        "patient.pregnant",
        "patient.liver_disease",
        "prescription.strength_mg",
        "prescription.strength_basis",
        "prescription.doses_per_day",
        "prescription.titration[0].days",
        "prescription.titration[1].strength_mg",
    ]


@pytest.mark.parametrize(
    "strength", [Decimal("-3"), Decimal("NaN"), Decimal("Infinity"), 3.0, None]
)
def test_strength_must_be_a_positive_decimal(strength):
    with pytest.raises(ValidationFailed) as exc:
        screen(CLEAN, PrescriptionFacts(strength, "hcl", 1))
    assert [e.field for e in exc.value.errors] == ["prescription.strength_mg"]


def test_missing_lists_are_refused_not_crashed_on():
    with pytest.raises(ValidationFailed) as exc:
        screen(PatientFacts(medications=None, allergies=None), RX_3MG)
    assert [e.field for e in exc.value.errors] == ["patient.medications", "patient.allergies"]


# --- issue 10 item 4: opioids that were missing, duplicate antagonists, naloxone allergy -----


@pytest.mark.parametrize(
    "entry,generic,category",
    [
        ("Robitussin AC 10 mL at night", "codeine", "antitussive"),
        ("Cheratussin AC syrup", "codeine", "antitussive"),
        ("Hydromet 5 mL q6h prn", "hydrocodone", "antitussive"),
        ("Tussigon tablets", "hydrocodone", "antitussive"),
        ("APAP-cod 300/30", "codeine", "analgesic"),
        ("co-codamol 30/500", "codeine", "analgesic"),
        ("Co-dydramol 10/500", "dihydrocodeine", "analgesic"),
        ("tianeptine 12.5 mg tid", "tianeptine", "other"),
    ],
)
def test_missing_opioids_are_found(entry, generic, category):
    [match] = find_opioids([entry])
    assert (match.generic, match.category) == (generic, category)
    [finding] = screen(PatientFacts(medications=[entry]), RX_3MG)
    assert (finding.code, finding.severity) == ("opioid_comedication", "contraindicated")


def test_plain_robitussin_is_not_an_opioid():
    assert find_opioids(["Robitussin DM", "Robitussin"]) == []


@pytest.mark.parametrize(
    "entry",
    [
        "Vivitrol 380 mg IM monthly",
        "Revia 50 mg daily",
        "Contrave 8/90 two tablets twice daily",
        "Lybalvi 10/10",
        "samidorphan",
        "naltrexone 50 mg tablets",
    ],
)
def test_an_opioid_antagonist_already_taken_is_duplicate_therapy(entry):
    [finding] = screen(PatientFacts(medications=[entry]), RX_3MG)
    assert (finding.code, finding.severity) == ("duplicate_therapy", "contraindicated")
    assert entry in finding.message and "duplicate therapy" in finding.message
    assert blocks_verification([finding])


@pytest.mark.parametrize("entry", ["LDN 4.5 mg at bedtime", "naltrexone 3 mg (LDN)", "naltrexone"])
def test_the_patient_listing_their_ldn_is_not_duplicate_therapy(entry):
    assert screen(PatientFacts(medications=[entry]), RX_3MG) == []


@pytest.mark.parametrize("allergy", ["naloxone", "Narcan (hives)", "Kloxxado - rash"])
def test_naloxone_allergy_is_a_warning(allergy):
    [finding] = screen(PatientFacts(allergies=[allergy]), RX_3MG)
    assert (finding.code, finding.severity) == ("allergy_naloxone", "warning")
    assert not blocks_verification([finding])
