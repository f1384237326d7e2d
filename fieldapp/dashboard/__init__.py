"""Per-form analysis dashboard: counts and summaries of submissions, drawn in the browser."""
