"""Approvals. Placeholder until the approval workflow ([6/10]) lands: it fails closed."""
