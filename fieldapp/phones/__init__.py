"""Setting up phones for a user: ODK Collect app-user tokens (``/key/<token>/``) with the
settings QR code Collect scans, and the QR code of our phone app's login page."""
