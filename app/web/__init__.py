"""What every request shares: state, roles, headers, errors, logs, limits."""
