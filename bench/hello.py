"""The baseline web app: hello world in Flask, served in the same gunicorn form."""

from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "<!doctype html><title>hello</title><p>Hello, world.</p>"


@app.post("/")
def hello_post() -> str:
    return f"<!doctype html><title>hello</title><p>{len(request.form)} fields.</p>"
