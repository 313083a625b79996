"""Callers' names and phones are personal data (PIPL): shown only to roles that need them."""

from __future__ import annotations

from gridops.auth.actor import Actor, Role


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return digits[:1] + "*" * (len(digits) - 3) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def sees_caller(actor: Actor, *, confidential: bool, reported_by: str | None = None) -> bool:
    """Dispatchers (and the hotline itself) always; handlers only when the caller did not ask for
    confidentiality; leaders, auditors and admins never: they do not need it."""
    if actor.role in (Role.dispatcher, Role.system):
        return True
    if confidential:
        return False
    if actor.role is Role.unit_operator:
        return True
    return actor.role is Role.grid_worker and reported_by == actor.subject
