"""A realistic demo pharmacy for evaluation. Never run this against a live pharmacy's data."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import (
    Balance,
    Formula,
    FormulaIngredient,
    Ingredient,
    IngredientLot,
    Patient,
    PharmacyProfile,
    Prescriber,
    User,
)
from .services import accounts, audit
from .services.signatures import SignOff

DEMO_PASSWORD = "demo-Ldn-2026!x"


def _train(session, user) -> None:
    """Demo staff are trained for what their role does, so the demo runs end to end."""
    from .services import training

    tasks = (
        ("compounding", "final_check", "release")
        if "pharmacist" in user.roles
        else ("compounding",)
        if "technician" in user.roles
        else ()
    )
    training.record_initial(
        session, "demo-data", user, tasks, date.today() - timedelta(days=60), "demo set-up"
    )


DEMO_USERS = [
    ("pharmacist", "Patricia Chen", "PC", ("pharmacist", "admin")),
    ("pharmacist2", "Omar Haddad", "OH", ("pharmacist",)),
    ("technician", "Tom Rivera", "TR", ("technician",)),
    ("staff", "Sara Okafor", "SO", ("staff",)),
    ("admin", "Alex Morgan", "AM", ("admin",)),
]


def load_demo(session: Session, hasher_params: dict | None = None) -> list[str]:
    out = []
    if session.scalar(select(PharmacyProfile).limit(1)) is None:
        session.add(
            PharmacyProfile(
                name="Riverside Compounding Pharmacy",
                address="120 Main Street, Springfield, IL 62701",
                phone="(217) 555-0142",
                licence_number="IL-054.012345",
            )
        )
        session.flush()
        out.append("pharmacy profile created")
    for username, name, initials, roles in DEMO_USERS:
        if session.scalar(select(User).where(User.username == username)):
            continue
        user = accounts.create_user(
            session,
            "demo-data",
            accounts.NewUser(username, name, initials, DEMO_PASSWORD, roles),
            hasher_params,
        )
        _train(session, user)
        out.append(f"user {username} ({', '.join(roles)}) password {DEMO_PASSWORD}")
    pharmacist = session.scalar(select(User).where(User.username == "pharmacist"))
    if session.scalar(select(Patient).limit(1)) is None:
        _patients(session)
        out.append("patients and prescribers created")
    if session.scalar(select(Ingredient).limit(1)) is None:
        _inventory(session, pharmacist)
        out.append("ingredients, lots and a balance created")
    if session.scalar(select(Formula).limit(1)) is None:
        _formulas(session, pharmacist)
        out.append("formulas LDN-CAP and LDN-SOL created")
    from .models import Prescription

    if session.scalar(select(Prescription).limit(1)) is None:
        _prescriptions(session, hasher_params)
        out.append("prescriptions and orders created")
    # The trail records what was loaded, never the demo password.
    loaded = [line.split(" password ")[0] for line in out]
    audit.record(session, "demo-data", "demo.load", "database", None, new={"loaded": loaded})
    return out or ["demo data already present"]


def _patients(session: Session) -> None:
    session.add_all(
        [
            Patient(
                first_name="Margaret",
                last_name="Ellis",
                date_of_birth=date(1961, 4, 12),
                sex="female",
                address="14 Oak Lane, Springfield, IL",
                phone="217-555-0191",
                allergies="Penicillin",
                medications="Levothyroxine 75 mcg\nVitamin D3",
            ),
            Patient(
                first_name="James",
                last_name="Okoro",
                date_of_birth=date(1978, 9, 3),
                sex="male",
                address="9 Elm Court, Springfield, IL",
                phone="217-555-0173",
                allergies="",
                medications="Tramadol 50 mg as needed",
            ),
            Patient(
                first_name="Lucia",
                last_name="Fernandez",
                date_of_birth=date(1990, 1, 27),
                sex="female",
                address="302 Pine Ave, Chatham, IL",
                phone="217-555-0128",
                allergies="",
                medications="",
                breastfeeding=True,
            ),
        ]
    )
    session.add_all(
        [
            Prescriber(
                first_name="Helen",
                last_name="Park",
                credentials="MD",
                npi="1234567893",
                address="Springfield Neurology, 800 Clinic Dr",
                phone="217-555-0100",
            ),
            Prescriber(
                first_name="David",
                last_name="Ng",
                credentials="DO",
                npi="1245319599",
                address="Capitol Rheumatology, 45 State St",
                phone="217-555-0111",
            ),
        ]
    )
    session.flush()


def _inventory(session: Session, receiver: User) -> None:
    today = date.today()
    api = Ingredient(
        name="Naltrexone hydrochloride USP",
        kind="api",
        unit="mg",
        salt_form="hydrochloride",
        molecular_weight=D("377.86"),
        base_molecular_weight=D("341.40"),
        reorder_point=D("5000"),
        gtin="00300123456785",  # on the supplier's GS1 DataMatrix (scanned at receipt)
    )
    mcc = Ingredient(
        name="Microcrystalline cellulose NF (Avicel PH-102)",
        kind="filler",
        unit="mg",
        tapped_density_mg_per_ml=D("400"),
        reorder_point=D("500000"),
    )
    shell = Ingredient(
        name="Gelatin capsule shells size 1, white",
        kind="capsule_shell",
        unit="each",
        capsule_size="1",
        reorder_point=D("2000"),
    )
    vehicle = Ingredient(
        name="Oral suspending vehicle, preserved (Ora-Plus/Ora-Sweet 1:1)",
        kind="vehicle",
        unit="mL",
        reorder_point=D("2000"),
    )
    water = Ingredient(name="Purified water USP", kind="vehicle", unit="mL")
    session.add_all([api, mcc, shell, vehicle, water])
    session.flush()
    lots = [
        (
            api,
            "NTX-24117",
            "PCCA",
            "SpecGx LLC",
            today + timedelta(days=400),
            D("25000"),
            "mg",
            D("99.6"),
            "anhydrous",
            D("0.8"),
            "released",
        ),
        (
            api,
            "NTX-25002",
            "Medisca",
            "Mallinckrodt",
            today + timedelta(days=45),
            D("10000"),
            "mg",
            D("100.2"),
            "as_is",
            None,
            "released",
        ),
        (
            mcc,
            "MCC-8841",
            "PCCA",
            "DuPont",
            today + timedelta(days=700),
            D("2000000"),
            "mg",
            None,
            None,
            None,
            "released",
        ),
        (
            shell,
            "CAPS1-5521",
            "Medisca",
            "Capsugel",
            today + timedelta(days=900),
            D("10000"),
            "each",
            None,
            None,
            None,
            "released",
        ),
        (
            vehicle,
            "ORA-3390",
            "Perrigo",
            "Perrigo",
            today + timedelta(days=300),
            D("4000"),
            "mL",
            None,
            None,
            None,
            "quarantined",
        ),
    ]
    for ing, lot, sup, mfr, exp, qty, unit, assay, basis, water_pct, status in lots:
        session.add(
            IngredientLot(
                ingredient_id=ing.id,
                lot_number=lot,
                supplier=sup,
                manufacturer=mfr,
                expires_on=exp,
                quantity_received=qty,
                unit=unit,
                assay_percent=assay,
                assay_basis=basis,
                water_percent=water_pct,
                status=status,
                received_on=today - timedelta(days=20),
                received_by_id=receiver.id,
            )
        )
    session.add(
        Balance(
            name="Sartorius Quintix 125D-1S (BAL-01)",
            readability_mg=D("0.01"),
            mwq_mg=D("120"),
            calibration_due=today + timedelta(days=120),
            # `flask balance simulate --protocol sbi` serves it for the demo.
            port="socket://127.0.0.1:4001",
            protocol="sbi",
        )
    )
    session.flush()


def _formulas(session: Session, pharmacist: User) -> None:
    by_name = {i.name: i for i in session.scalars(select(Ingredient))}

    def ing(prefix: str) -> Ingredient:
        return next(v for k, v in by_name.items() if k.startswith(prefix))

    cap = Formula(
        code="LDN-CAP",
        version=1,
        name="Naltrexone HCl capsules (LDN), MCC filler",
        dosage_form="capsule",
        strength_min_mg=D("0.5"),
        strength_max_mg=D("4.5"),
        capsule_size="1",
        packing_stat_mg=D("200"),
        overage_percent=D("2"),
        bud_category="other_nonaqueous",
        storage="Store at room temperature 20-25 °C, dry",
        container="Amber plastic vial, child-resistant cap",
        method=(
            "1. Weigh naltrexone HCl (or its aliquot) and MCC.\n"
            "2. Triturate the API with an equal portion of MCC by geometric dilution.\n"
            "3. Blend 5 minutes; fill size 1 capsules by the packing statistic.\n"
            "4. Weigh 10 capsules for the weight check."
        ),
        qc_requirements="Weight check of 10 capsules, each within ±10% of target fill.",
        qc_sample_size=10,
        weight_tolerance_percent=D("10"),
        api_tolerance_percent=D("5"),
        labelling_notes="Take at bedtime unless directed otherwise.",
        status="approved",
        created_by_id=pharmacist.id,
        approved_by_id=pharmacist.id,
    )
    cap.lines = [
        FormulaIngredient(position=1, ingredient_id=ing("Naltrexone").id, role="active"),
        FormulaIngredient(position=2, ingredient_id=ing("Microcrystalline").id, role="filler"),
        FormulaIngredient(
            position=3,
            ingredient_id=ing("Gelatin").id,
            role="capsule_shell",
            amount=D("1"),
            unit="each",
        ),
    ]
    sol = Formula(
        code="LDN-SOL",
        version=1,
        name="Naltrexone HCl 1 mg/mL oral solution",
        dosage_form="oral_solution",
        strength_min_mg=D("0.5"),
        strength_max_mg=D("4.5"),
        concentration_mg_per_ml=D("1"),
        overage_percent=D("0"),
        bud_category="preserved_aqueous",
        storage="Store in the refrigerator 2-8 °C",
        container="Amber oral bottle with oral syringe",
        method=(
            "1. Weigh naltrexone HCl (or triturate tablets).\n"
            "2. Dissolve in a portion of the vehicle; q.s. to volume; mix well."
        ),
        qc_requirements="Final volume; clear, colourless to slightly yellow solution.",
        qc_sample_size=0,
        weight_tolerance_percent=D("10"),
        api_tolerance_percent=D("5"),
        labelling_notes="Shake well.",
        status="approved",
        created_by_id=pharmacist.id,
        approved_by_id=pharmacist.id,
    )
    sol.lines = [
        FormulaIngredient(position=1, ingredient_id=ing("Naltrexone").id, role="active"),
        FormulaIngredient(position=2, ingredient_id=ing("Oral suspending").id, role="vehicle"),
    ]
    session.add_all([cap, sol])
    session.flush()
    for f in (cap, sol):
        audit.record(
            session, "demo-data", "formula.create", "formula", f.id, None, audit.snapshot(f)
        )


def _prescriptions(session: Session, hasher_params: dict | None = None) -> None:
    """Three LDN prescriptions at different points of the workflow."""
    from .services import prescriptions

    users = {u.username: u for u in session.scalars(select(User))}
    staff, pharmacist = users["staff"], users["pharmacist2"]
    by_last = {p.last_name: p for p in session.scalars(select(Patient))}
    park = session.scalar(select(Prescriber).where(Prescriber.npi == "1234567893"))
    ng = session.scalar(select(Prescriber).where(Prescriber.npi == "1245319599"))
    if park is None or ng is None or not {"Ellis", "Okoro", "Fernandez"} <= set(by_last):
        return
    today = date.today()
    step = prescriptions.StepInput

    # The demo pharmacist signs the verifications with the demo password.
    signed = SignOff(DEMO_PASSWORD, hasher_params)

    def enter(patient, prescriber, **kw):
        data = prescriptions.PrescriptionInput(
            patient_id=patient.id,
            prescriber_id=prescriber.id,
            date_written=today - timedelta(days=kw.pop("written_days_ago", 3)),
            dosage_form=kw.pop("dosage_form", "capsule"),
            strength_mg=kw.pop("strength_mg", D("4.5")),
            quantity=kw.pop("quantity", D("30")),
            promised_on=today + timedelta(days=2),
            **kw,
        )
        return prescriptions.enter_prescription(session, staff, data, today)

    formulas = {f.code: f.id for f in session.scalars(select(Formula))}
    # Hashimoto's, titrating up to 4.5 mg capsules; the 1.5 mg and 3 mg steps are capsules of
    # their own strength (one batch each). 28 capsules for the plan, then 32 of 4.5 mg.
    # Verified; it waits there until a batch is started for it (the order moves only by events).
    ellis = enter(
        by_last["Ellis"],
        park,
        refills_authorized=3,
        indication="Hashimoto's thyroiditis",
        icd10_code="E06.3",
        titration=[step(D("1.5"), 14), step(D("3"), 14)],
        formula_id=formulas.get("LDN-CAP"),
        quantity=D("60"),
    )
    prescriptions.verify(session, pharmacist, ellis, today=today, sign=signed)
    # Fibromyalgia; on tramadol, so screening finds a contraindication: waits for a pharmacist.
    enter(by_last["Okoro"], ng, refills_authorized=2, indication="Fibromyalgia", icd10_code="M79.7")
    # Multiple sclerosis, oral solution; breastfeeding warning; verified, waiting for a batch
    # (an order becomes ready only when a released batch fills it).
    # 3 mg a dose of the 1 mg/mL solution: "Take 3 mL (3 mg) by mouth once daily at bedtime."
    fernandez = enter(
        by_last["Fernandez"],
        park,
        dosage_form="oral_solution",
        strength_mg=None,
        dose_mg=D("3"),
        formula_id=formulas.get("LDN-SOL"),
        quantity=D("100"),
        refills_authorized=5,
        indication="Multiple sclerosis",
        icd10_code="G35",
        written_days_ago=20,
    )
    prescriptions.verify(session, pharmacist, fernandez, today=today, sign=signed)
