"""Questionnaires: publish (XLSForm upload, identifier marks), list, fill in."""
