"""An organisation key contact managing the staff logins of the organisation."""
