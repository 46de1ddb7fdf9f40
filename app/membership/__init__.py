"""Applying for membership (/apply): no account needed.

views.py parses forms and renders; service.py holds the logic (callable without a
request); records.py owns the members tables; decisions.py approves, rejects, revokes
and records leaving; forms.py renders and collects fields.
"""
