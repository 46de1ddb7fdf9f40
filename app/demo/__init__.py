"""Demo-only code: `make run` installs the demo extra it needs."""
