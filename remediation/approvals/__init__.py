"""Human approval of remediation: requests, decisions, the check execution re-runs, pages."""
