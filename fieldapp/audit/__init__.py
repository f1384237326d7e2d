"""Audit trail of access to identifying data."""
