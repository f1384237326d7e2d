"""JSON API v1 (read-only for now), described at ``/api/v1/openapi.json``."""
