"""A signed-in person's own settings."""
