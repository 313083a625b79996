from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    grid_worker = "grid_worker"
    unit_operator = "unit_operator"
    dispatcher = "dispatcher"
    leader = "leader"
    auditor = "auditor"
    admin = "admin"
    system = "system"  # jobs and adapters; never carried by a token


ALL_HUMAN_ROLES = tuple(r for r in Role if r is not Role.system)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, with the one scope their token grants (unit, street, community or grid)."""

    subject: str
    role: Role
    unit_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    name: str | None = None

    @property
    def scope_label(self) -> str | None:
        """The most specific scope code, for audit rows."""
        return self.grid_code or self.community_code or self.unit_code or self.street_code


SYSTEM = Actor(subject="system", role=Role.system)
HOTLINE = Actor(subject="hotline-12345", role=Role.system, name="12345 热线平台")
