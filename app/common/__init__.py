"""Plain domain helpers with no database and no request."""
