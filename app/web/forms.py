"""Putting a service's per-field problems back on the form that collected the input.

Services check input without a request and return {field name: message}; views show each
message next to its field. Names the form does not have (an identifier row, say) are left
for the template's problem summary.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm


def show_problems(form: FlaskForm, problems: Mapping[str, object] | None) -> None:
    for name, message in (problems or {}).items():
        if name in form:
            form[name].errors = [message]
