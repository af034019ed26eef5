"""The reference for HTTP figures: a trivial Flask endpoint, served exactly like the app."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "ok"
