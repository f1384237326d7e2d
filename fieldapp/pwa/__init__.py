"""The installable phone app: its shell page, web app manifest and service worker."""
