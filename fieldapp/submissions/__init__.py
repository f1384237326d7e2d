"""Submissions: tables for supervisors and researchers, one submission, CSV download."""
