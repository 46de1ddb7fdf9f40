"""Sign-in, sign-out, sessions, passwords and TOTP."""
