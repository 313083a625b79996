"""Every domain's tables, collected for Alembic's metadata. Nothing else imports this."""

from gridops.audit.models import AuditEvent
from gridops.clock.models import SlaClock
from gridops.db import Base
from gridops.incidents.models import Attachment, IdempotencyRecord, Incident, IncidentRequest
from gridops.open311.models import Open311Client
from gridops.outbox.models import OutboxMessage
from gridops.places.models import Community, District, Grid, GridWorker, PackLoad, Street, Unit
from gridops.routing.models import RoutingCorrection, Ruleset

__all__ = [
    "Attachment", "AuditEvent", "Base", "Community", "District", "Grid", "GridWorker",
    "IdempotencyRecord", "Incident", "IncidentRequest", "Open311Client", "OutboxMessage",
    "PackLoad", "RoutingCorrection", "Ruleset", "SlaClock", "Street", "Unit",
]
