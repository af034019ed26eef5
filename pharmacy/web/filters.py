from datetime import date, datetime

from flask import Flask


def register_filters(app: Flask) -> None:
    @app.template_filter("dt")
    def format_datetime(value):
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    @app.template_filter("titration_rows")
    def titration_rows(rx):
        from ..services.prescription_dose import titration_rows as rows

        return rows(rx)
