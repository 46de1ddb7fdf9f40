"""The number checker (/check): members ask whether a published alert names an identifier."""
