"""The coordinators' area: vetting applications with the separately held key."""
