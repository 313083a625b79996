"""Which incidents an actor may see and act on: own grid, own unit (and street for STR), own
street or community for dispatchers, everything for leaders, auditors and admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from gridops.auth.actor import Actor, Role

_SEE_ALL = frozenset({Role.leader, Role.auditor, Role.admin, Role.system})


def in_scope(actor: Actor, *, unit_code: str | None = None, street_code: str | None = None,
             community_code: str | None = None, grid_code: str | None = None,
             assigned_street_code: str | None = None) -> bool:
    if actor.role in _SEE_ALL:
        return True
    if actor.role is Role.dispatcher:
        if actor.community_code:
            return community_code == actor.community_code
        if actor.street_code:
            return actor.street_code in (street_code, assigned_street_code)
        return True
    if actor.role is Role.unit_operator:
        if unit_code != actor.unit_code:
            return False
        return actor.unit_code != "STR" or actor.street_code in (assigned_street_code,
                                                                  street_code)
    if actor.role is Role.grid_worker:
        return grid_code is not None and grid_code == actor.grid_code
    return False


def scope_clause(actor: Actor, model: Any) -> ColumnElement[bool]:
    """`in_scope` as a SQL condition over a table with the incident's place and unit columns."""
    if actor.role in _SEE_ALL:
        return true()
    if actor.role is Role.dispatcher:
        if actor.community_code:
            return model.community_code == actor.community_code  # type: ignore[no-any-return]
        if actor.street_code:
            return or_(model.street_code == actor.street_code,
                       model.assigned_street_code == actor.street_code)
        return true()
    if actor.role is Role.unit_operator:
        if actor.unit_code == "STR":
            return and_(model.unit_code == "STR",
                        or_(model.assigned_street_code == actor.street_code,
                            and_(model.assigned_street_code.is_(None),
                                 model.street_code == actor.street_code)))
        return model.unit_code == actor.unit_code  # type: ignore[no-any-return]
    if actor.role is Role.grid_worker:
        return model.grid_code == actor.grid_code  # type: ignore[no-any-return]
    return false()
