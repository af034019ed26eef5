from flask import Flask

from ..localtime import local_text


def register_filters(app: Flask) -> None:
    from . import humanize

    humanize.register(app)

    @app.template_global("esignatures")
    def esignatures(entity: str, entity_id):
        """The electronic signatures on a record, for its page."""
        from ..extensions import db
        from ..services.signatures import for_record

        return for_record(db.session, entity, entity_id)

    @app.template_filter("dt")
    def format_datetime(value):
        # Stored in UTC; read in the pharmacy's zone (PHARMACY_TIMEZONE).
        return local_text(value)

    from .order_rows import lookup_rows, queue_rows

    app.add_template_global(queue_rows, "queue_rows")
    app.add_template_global(lookup_rows, "lookup_rows")

    @app.template_filter("order_directions")
    def order_directions(order):
        """The sig this fill's label carries (a titration's refill: the maintenance dose)."""
        from ..services.prescription_dose import maintenance_directions

        return (
            order.prescription.directions
            if order.is_titration
            else maintenance_directions(order.prescription)
        )

    @app.template_filter("titration_rows")
    def titration_rows(rx):
        from ..services.prescription_dose import titration_rows as rows

        return rows(rx)
