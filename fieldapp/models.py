"""Import every model so that ``db.metadata`` is complete (Alembic, tests)."""

from fieldapp.areas.models import Area
from fieldapp.audit.models import AuditEvent
from fieldapp.auth.models import ApiToken, LoginFailure, LoginSession, User
from fieldapp.cases.models import Dataset, Entity, EntityOp, EntityVersion
from fieldapp.exports.models import ExportJob
from fieldapp.figures.models import FigureDefinition, FigureTarget
from fieldapp.people.models import UserImport
from fieldapp.reminders.models import PushSubscription, ReminderDelivery, ReminderPreference
from fieldapp.reports.models import ReportDefinition
from fieldapp.submissions.models import Submission, SubmissionAttachment
from fieldapp.surveys.models import Form, FormMedia, FormVersion

__all__ = [
    "ExportJob",
    "Dataset",
    "Entity",
    "EntityOp",
    "EntityVersion",
    "Area",
    "AuditEvent",
    "ApiToken",
    "LoginFailure",
    "LoginSession",
    "User",
    "Submission",
    "SubmissionAttachment",
    "Form",
    "FormMedia",
    "FormVersion",
    "UserImport",
    "FigureDefinition",
    "FigureTarget",
    "ReportDefinition",
    "PushSubscription",
    "ReminderPreference",
    "ReminderDelivery",
]
