"""The language chooser on every page."""
