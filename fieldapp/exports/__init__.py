"""Exports of submissions (CSV now; XLSX, SPSS, Stata and R later)."""
