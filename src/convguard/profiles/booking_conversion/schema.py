"""The booking-conversion data model (``SEMANTICS.md``), as Prisma creates it on PostgreSQL.

It belongs to the profile, not the core: a query bound to the booking-conversion profile with no
application schema is checked and run against it (:attr:`PROFILE.schema
<convguard.profiles.Profile.schema>`), and the profile's oracle, strategies and synthetic data are
written for it.

Example:
    >>> schema = booking_schema()
    >>> schema.table("Message").column("sentAt").type
    'timestamp(3)'
    >>> schema.table("AIDraft").column("leadId").references
    ('Lead', 'id')
"""

from __future__ import annotations

from convguard import Column, EnumType, Index, Schema, Table

__all__ = ["booking_schema"]


def _timestamp(name: str, *, nullable: bool = False, default: str | None = None) -> Column:
    return Column(name, "timestamp(3)", nullable=nullable, default=default)


def _cuid_id() -> Column:
    # String @id @default(cuid()): Prisma Client generates the id, the column has no default.
    return Column("id", "text", nullable=False, primary_key=True, client_default="cuid")


def booking_schema() -> Schema:
    """The data model of SEMANTICS.md, as Prisma creates it on PostgreSQL."""
    now = "CURRENT_TIMESTAMP"
    return Schema(
        enums=(
            EnumType("CampaignResponseMode", ("SETTER_MANAGED", "AI_AUTO_SEND")),
            EnumType("AIDraftResponseDisposition", ("AUTO_SENT", "APPROVED", "EDITED")),
        ),
        tables=(
            Table("Client", (_cuid_id(),)),
            Table(
                "EmailCampaign",
                (
                    _cuid_id(),
                    Column("clientId", "text", nullable=False, references=("Client", "id")),
                    Column("responseMode", "CampaignResponseMode", nullable=False,
                           default="'SETTER_MANAGED'"),
                ),
            ),
            Table(
                "Lead",
                (
                    _cuid_id(),
                    Column("clientId", "text", nullable=False, references=("Client", "id")),
                    Column("emailCampaignId", "text", references=("EmailCampaign", "id")),
                    _timestamp("appointmentBookedAt", nullable=True),
                    Column("ghlAppointmentId", "text"),
                    Column("calendlyInviteeUri", "text", unique=True),
                    Column("calendlyScheduledEventUri", "text", unique=True),
                    Column("appointmentStatus", "text"),
                    _timestamp("appointmentCanceledAt", nullable=True),
                    _timestamp("createdAt", default=now),
                    _timestamp("updatedAt", default=now),
                ),
            ),
            Table(
                "AIDraft",
                (
                    _cuid_id(),
                    Column("leadId", "text", nullable=False, references=("Lead", "id")),
                    Column("channel", "text", nullable=False, default="'sms'"),
                    Column("status", "text", nullable=False, default="'pending'"),
                    Column("responseDisposition", "AIDraftResponseDisposition"),
                    _timestamp("createdAt", default=now),
                    _timestamp("updatedAt", default=now),
                ),
            ),
            Table(
                "Message",
                (
                    _cuid_id(),
                    Column("leadId", "text", nullable=False, references=("Lead", "id")),
                    Column("aiDraftId", "text", references=("AIDraft", "id")),
                    Column("direction", "text", nullable=False),
                    Column("channel", "text", nullable=False, default="'sms'"),
                    Column("body", "text", nullable=False),
                    _timestamp("sentAt"),
                    _timestamp("createdAt", default=now),
                ),
            ),
        ),
        indexes=(
            Index("Lead", ("clientId",)),
            Index("Lead", ("emailCampaignId",)),
            Index("AIDraft", ("leadId",)),
            Index("AIDraft", ("channel",)),
            Index("AIDraft", ("responseDisposition",)),
            Index("Message", ("aiDraftId",)),
            Index("Message", ("leadId",)),
            Index("Message", ("sentAt DESC",)),
        ),
    )
