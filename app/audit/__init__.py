"""The auditor's area: the disclosure log, its verification and its signed checkpoints.

Service modules hold plain functions (`verification`, `checkpoints`, `browse`); `views`
is the /audit blueprint (auditors only) and `cli` the `flask --app app audit` commands.
The worker's daily job calls `app.audit.checkpoints.make_checkpoint`.
"""
