"""Login, logout, language, users and API tokens (who may do what: ``fieldapp.scope``)."""
