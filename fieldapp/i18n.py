"""Translation helpers. Message ids are Chinese (the main UI language); English lives in
``fieldapp/translations/en``. Update with ``scripts/i18n.sh``."""


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (translate at display)."""
    return message
