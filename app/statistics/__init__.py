"""Monitoring statistics for coordinators and auditors (and Freedom of Information answers).

`suppression` holds the pure small-cell rules, `figures` the queries, `views` the page.
"""
