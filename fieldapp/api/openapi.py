"""The OpenAPI 3.1 document for ``/api/v1`` (kept beside the views it describes)."""

from __future__ import annotations


def _page_params() -> list[dict]:
    return [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
        },
        {
            "name": "per_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
        },
    ]


def _page_of(schema: str) -> dict:
    """The schema of a page of ``schema`` items (count, page, per_page, next, results)."""
    return {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "next": {"type": ["string", "null"]},
            "results": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}},
        },
    }


def openapi_document() -> dict:
    """Return the OpenAPI description of the JSON API as a dict."""
    error = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    form_id = {"name": "form_id", "in": "path", "required": True, "schema": {"type": "string"}}
    instance_id = {
        "name": "instance_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    dataset = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fieldapp API",
            "version": "1",
            "description": "Forms and submissions within the caller's role and area "
            "scope. Authenticate with the session cookie or "
            "`Authorization: Bearer <token>` (`fieldapp tokens create`).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/me": {
                "get": {
                    "summary": "The caller and the forms they may fill in (for the phone app)",
                    "responses": {
                        "200": {
                            "description": "User, area, fillable forms with media, and the "
                            "periodic reports the caller's unit files",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}
                            },
                        },
                        "401": error,
                    },
                }
            },
            "/forms": {
                "get": {
                    "summary": "Forms whose data the caller may see",
                    "responses": {
                        "200": {
                            "description": "Forms",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "forms": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Form"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "401": error,
                    },
                }
            },
            "/forms/{form_id}": {
                "get": {
                    "summary": "One form and its current question schema",
                    "parameters": [form_id],
                    "responses": {
                        "200": {
                            "description": "Form",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Form"}
                                }
                            },
                        },
                        "401": error,
                        "404": error,
                    },
                }
            },
            "/forms/{form_id}/submissions": {
                "get": {
                    "summary": "Submissions of a form in the caller's scope, newest first",
                    "parameters": [form_id, *_page_params()],
                    "responses": {
                        "200": {
                            "description": "A page",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SubmissionPage"}
                                }
                            },
                        },
                        "401": error,
                        "404": error,
                    },
                }
            },
            "/datasets/{name}/entities": {
                "get": {
                    "summary": "Entities (households) of an entity list in the caller's "
                    "scope, oldest first; label null where the caller may not identify it",
                    "parameters": [dataset, *_page_params()],
                    "responses": {
                        "200": {
                            "description": "A page",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/EntityPage"}
                                }
                            },
                        },
                        "401": error,
                        "404": error,
                    },
                }
            },
            "/submissions/{instance_id}/correction": {
                "get": {
                    "summary": "A sent submission the caller may correct now, for the phone "
                    "app to reopen as an edit (meta/deprecatedID); audited",
                    "parameters": [instance_id],
                    "responses": {
                        "200": {
                            "description": "Its instance XML, form version (as in /me), "
                            "attachments with their URLs, and until when it may be corrected",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Correction"}
                                }
                            },
                        },
                        "401": error,
                        "403": error,
                        "404": error,
                        "409": error,
                    },
                }
            },
            "/submissions/{instance_id}/correction/attachments/{filename}": {
                "get": {
                    "summary": "One attachment of a submission the caller may correct now",
                    "parameters": [
                        instance_id,
                        {
                            "name": "filename",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {"description": "The file"},
                        "401": error,
                        "403": error,
                        "404": error,
                        "409": error,
                    },
                }
            },
            **_reminder_paths(error),
            "/datasets/{name}/entities/{uuid}": {
                "get": {
                    "summary": "One entity in the caller's scope with its whole history",
                    "parameters": [
                        dataset,
                        {
                            "name": "uuid",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The entity and its versions",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/EntityWithVersions"}
                                }
                            },
                        },
                        "401": error,
                        "404": error,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "integer"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "Correction": {
                    "type": "object",
                    "properties": {
                        "instance_id": {"type": "string"},
                        "form": {"type": "object"},
                        "xml": {"type": "string"},
                        "attachments": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "filename": {"type": "string"},
                                    "content_type": {"type": "string"},
                                    "url": {"type": "string"},
                                },
                            },
                        },
                        "submitted_by": {"type": ["string", "null"]},
                        "received_at": {"type": "string", "format": "date-time"},
                        "first_sent_at": {"type": "string", "format": "date-time"},
                        "correct_until": {"type": ["string", "null"], "format": "date-time"},
                        "versions": {"type": "integer"},
                    },
                },
                "Form": {
                    "type": "object",
                    "required": ["form_id", "title", "version"],
                    "properties": {
                        "form_id": {"type": "string"},
                        "title": {"type": "string"},
                        "area_code": {"type": "string"},
                        "version": {"type": "string"},
                        "versions": {"type": "array", "items": {"type": "string"}},
                        "can_submit": {"type": "boolean"},
                        "xform_url": {"type": "string"},
                        "schema": {"type": "object"},
                    },
                },
                "Me": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string"},
                        "display_name": {"type": "string"},
                        "role": {"type": "string"},
                        "area": {"type": "object"},
                        "forms": {"type": "array", "items": {"type": "object"}},
                        "reports": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/ReportDue"},
                        },
                        "corrections": {
                            "type": "object",
                            "description": "Whether the caller corrects sent records, and "
                            "for how many days after they were first sent (null: no limit)",
                            "properties": {
                                "allowed": {"type": "boolean"},
                                "days": {"type": ["integer", "null"]},
                            },
                        },
                        "server_time": {"type": "string", "format": "date-time"},
                    },
                },
                "ReportDue": {
                    "type": "object",
                    "description": "A periodic report the caller's unit files (zero-report "
                    "system): send a submission of form_id in the period, or a zero report "
                    "(zero_form_id) whose report_date is the period's report_date",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "form_id": {"type": "string"},
                        "period": {"type": "string", "enum": ["weekly", "monthly", "quarterly"]},
                        "level": {"type": "string", "enum": ["village", "town"]},
                        "deadline_days": {"type": "integer"},
                        "unit": {"type": "object"},
                        "zero_form_id": {"type": ["string", "null"]},
                        "current": {"$ref": "#/components/schemas/ReportPeriod"},
                        "previous": {"$ref": "#/components/schemas/ReportPeriod"},
                    },
                },
                "ReportPeriod": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "label": {"type": "string"},
                        "start": {"type": "string", "format": "date"},
                        "end": {"type": "string", "format": "date"},
                        "deadline": {"type": "string", "format": "date"},
                        "report_date": {"type": "string", "format": "date"},
                        "status": {
                            "type": "string",
                            "enum": ["reported", "zero", "corrected", "missing", "pending"],
                        },
                        "late": {"type": ["boolean", "null"]},
                    },
                },
                "Submission": {
                    "type": "object",
                    "properties": {
                        "instance_id": {"type": "string"},
                        "form_version": {"type": "string"},
                        "submitted_by": {"type": "string"},
                        "area_code": {"type": "string"},
                        "received_at": {"type": "string", "format": "date-time"},
                        "deprecated_id": {"type": ["string", "null"]},
                        "data": {"type": "object"},
                        "attachments": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Entity": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "dataset": {"type": "string"},
                        "label": {"type": ["string", "null"]},
                        "label_hidden": {"type": "boolean"},
                        "version": {"type": "integer"},
                        "area_code": {"type": "string"},
                        "assigned_to": {"type": ["string", "null"]},
                        "risk_level": {"type": ["string", "null"]},
                        "case_status": {"type": "string"},
                        "next_visit_due": {"type": ["string", "null"], "format": "date"},
                        "last_visit_date": {"type": ["string", "null"], "format": "date"},
                        "conflict": {"type": ["string", "null"], "enum": ["soft", "hard", None]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                        "properties": {"type": "object"},
                    },
                },
                "EntityWithVersions": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Entity"},
                        {
                            "type": "object",
                            "properties": {
                                "versions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "version": {"type": "integer"},
                                            "kind": {"type": "string"},
                                            "at": {"type": "string", "format": "date-time"},
                                            "by": {"type": ["string", "null"]},
                                            "instance_id": {"type": ["string", "null"]},
                                            "received": {"type": "object"},
                                            "base_version": {"type": ["integer", "null"]},
                                            "conflict": {"type": ["string", "null"]},
                                            "conflicting": {
                                                "type": ["array", "null"],
                                                "items": {"type": "string"},
                                            },
                                        },
                                    },
                                }
                            },
                        },
                    ]
                },
                **_reminder_schemas(),
                "EntityPage": _page_of("Entity"),
                "SubmissionPage": _page_of("Submission"),
            },
        },
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _reminder_paths(error: dict) -> dict:
    """Push subscriptions, reminder preferences and the to-do list (issue 13,
    ``fieldapp.reminders.views``)."""
    body = {"required": True, "content": {"application/json": {"schema": _ref("PushSubscription")}}}
    gone = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["endpoint"],
                    "properties": {"endpoint": {"type": "string", "minLength": 1, "pattern": "\\S"}},
                }
            }
        },
    }
    prefs = {"required": True, "content": {"application/json": {"schema": _ref("Preferences")}}}
    created = _json(
        {"type": "object", "properties": {"id": {"type": "integer"}}}, "The subscription's id"
    )
    return {
        "/push/key": {
            "get": {
                "summary": "The server's VAPID public key (applicationServerKey)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"public_key": {"type": "string"}},
                        },
                        "Uncompressed P-256 point, base64url without padding",
                    ),
                    "401": error,
                },
            }
        },
        "/push/subscriptions": {
            "post": {
                "summary": "Store the caller's push subscription (PushSubscription.toJSON() "
                "and an optional device label); at most 10 per user, the oldest makes room",
                "requestBody": body,
                "responses": {
                    "200": created,
                    "201": created,
                    "400": error,
                    "401": error,
                },
            },
            "delete": {
                "summary": "Delete the caller's own subscription of an endpoint",
                "requestBody": gone,
                "responses": {
                    "204": {"description": "Deleted (or none of theirs)"},
                    "400": error,
                    "401": error,
                },
            },
        },
        "/reminders/preferences": {
            "get": {
                "summary": "The caller's reminder kinds, quiet hours and devices",
                "responses": {"200": _json(_ref("Preferences"), "Preferences"), "401": error},
            },
            "put": {
                "summary": "Store the caller's reminder kinds and quiet hours (any part; "
                "devices is ignored)",
                "requestBody": prefs,
                "responses": {
                    "200": _json(_ref("Preferences"), "The stored preferences"),
                    "400": error,
                    "401": error,
                },
            },
        },
        "/reminders/todo": {
            "get": {
                "summary": "The caller's to-do items today (visits due and overdue, unfiled "
                "reports, newly assigned households)",
                "responses": {"200": _json(_ref("Todo"), "To-do items"), "401": error},
            }
        },
    }


def _reminder_schemas() -> dict:
    kinds = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: {"type": "boolean"} for k in ("visits", "report", "assigned", "digest")},
    }
    hhmm = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
    return {
        "PushSubscription": {
            "type": "object",
            "required": ["endpoint", "keys"],
            "properties": {
                "endpoint": {
                    "type": "string",
                    "description": "The push service's https address (on port 443: another "
                    "port is refused)",
                    "pattern": "^https://([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\\.){1,3}[a-z]{2,6}"
                    "(:443)?/[A-Za-z0-9_/.-]{0,200}$",
                    "maxLength": 2048,
                },
                "expirationTime": {"type": ["number", "null"]},
                "keys": {
                    "type": "object",
                    "required": ["p256dh", "auth"],
                    "properties": {
                        "p256dh": {
                            "type": "string",
                            "description": "The device's P-256 public key, base64url",
                            "pattern": "^B[A-P][A-Za-z0-9_-]{84}[AEIMQUYcgkosw048]$",
                        },
                        "auth": {
                            "type": "string",
                            "description": "The device's 16-byte auth secret, base64url",
                            "pattern": "^[A-Za-z0-9_-]{21}[AQgw]$",
                        },
                    },
                },
                "device": {"type": "string", "maxLength": 100},
            },
        },
        "Preferences": {
            "type": "object",
            "properties": {
                "kinds": kinds,
                "quiet_start": hhmm,
                "quiet_end": hhmm,
                "devices": {"type": "integer"},
            },
        },
        "Todo": {
            "type": "object",
            "properties": {
                "day": {"type": "string", "format": "date"},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["kind"],
                        "properties": {
                            "kind": {
                                "type": "string",
                                "enum": [
                                    "overdue",
                                    "due_today",
                                    "due_tomorrow",
                                    "report",
                                    "assigned",
                                ],
                            },
                            "count": {"type": "integer"},
                            "households": {"type": "array", "items": {"type": "string"}},
                            "report_id": {"type": "integer"},
                            "name": {"type": "string"},
                            "period": {"type": "string"},
                            "label": {"type": "string"},
                            "deadline": {"type": "string", "format": "date"},
                            "status": {"type": "string", "enum": ["pending", "missing"]},
                        },
                    },
                },
            },
        },
    }
