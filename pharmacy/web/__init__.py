from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import admin, auth, main
    from .filters import register_filters

    register_filters(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)

    from .api import register_api

    register_api(app)
