from datetime import date, datetime

from flask import Flask

from ..localtime import local


def register_filters(app: Flask) -> None:
    from . import humanize

    humanize.register(app)

    @app.template_filter("dt")
    def format_datetime(value):
        if value is None:
            return ""
        if isinstance(value, datetime):
            # Stored in UTC; read in the pharmacy's zone (PHARMACY_TIMEZONE).
            return local(value).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        return str(value)
