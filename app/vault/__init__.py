"""The kernel: the only package that touches the database and sealed data."""
