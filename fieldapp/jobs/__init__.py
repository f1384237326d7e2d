"""Background export jobs: a queue in the database that every app process shares."""
