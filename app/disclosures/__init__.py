"""Disclosure control: requests from the police or another authority, four eyes, a single
logged unseal, the member's notice (now or after a recorded delay), acting as an
intermediary between the police and a member, and the consented police export.

Service modules hold plain functions over a connection (no Flask request):
- `codes`: the fixed lists (authorities, reasons) whose codes are stored in clear;
- `service`: recording, approving, refusing and carrying out a disclosure;
- `notices`: telling the member, now or when a delay ends (`release_due_notices`);
- `contact`: the intermediary's messages and the member's answer;
- `export`: the consented police-intelligence export;
- `records`: the one writer of the disclosure tables, and the statuses they hold.
`views` holds the coordinators' pages and the members' messages (two blueprints); `forms`
their forms.
"""
