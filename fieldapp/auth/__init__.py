"""Login, logout, language, roles and API tokens."""
