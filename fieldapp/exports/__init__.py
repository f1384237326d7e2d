"""The export feature: one checked request, the writers per format, pages, job queue."""
