"""``fieldapp backup`` and ``fieldapp restore`` (issue 14): one archive holding the
database (SQLite's online backup, or ``pg_dump --format=custom``), the instance folder's
keys and files, and a manifest with every file's SHA-256; restored only once every
checksum holds."""
