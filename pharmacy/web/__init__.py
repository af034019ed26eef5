from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import admin, auth, calculator, formulas, main
    from .filters import register_filters

    register_filters(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(formulas.bp)
    app.register_blueprint(calculator.bp)

    from .api import register_api

    register_api(app)
