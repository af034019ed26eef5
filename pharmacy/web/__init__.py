from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import admin, auth, calculator, formulas, main
    from .filters import register_filters

    register_filters(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)

    from . import orders, patients, prescriptions

    app.register_blueprint(patients.bp)
    app.register_blueprint(patients.prescribers_bp)
    app.register_blueprint(prescriptions.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(formulas.bp)
    app.register_blueprint(calculator.bp)

    from . import equipment, inventory

    app.register_blueprint(inventory.bp)
    app.register_blueprint(equipment.bp)

    from . import batches

    app.register_blueprint(batches.bp)

    from . import complaints

    app.register_blueprint(complaints.bp)

    from . import printing

    app.register_blueprint(printing.bp)

    from .api import register_api

    register_api(app)

    from . import scan

    app.register_blueprint(scan.bp)

    from . import reports

    app.register_blueprint(reports.bp)
    from . import attachments

    app.register_blueprint(attachments.bp)

    from . import facility

    app.register_blueprint(facility.bp)

    from . import records

    app.register_blueprint(records.bp)

    from . import training

    app.register_blueprint(training.bp)


def fixed_url(endpoint: str, **values) -> str:
    """url_for for a URL that depends on nothing in the request, built once per application
    root (the `fixed_url` template global, for views)."""
    from flask import current_app

    return current_app.extensions["fixed_url"](endpoint, **values)
