"""WSGI entry point: `gunicorn -w 4 wsgi:app`."""

from pharmacy import create_app

app = create_app()
