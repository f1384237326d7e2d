"""Answers to columns: source rows, wide/long layouts, bulk flattening, de-identification."""
