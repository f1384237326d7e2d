"""Questionnaires: list, fill in, publish (XLSForm upload)."""
