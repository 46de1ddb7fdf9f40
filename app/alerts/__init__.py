"""Alerts: composed by coordinators from reports, read by members, sent as notices."""
