"""Who may call an endpoint: `allow(*roles)` is both the check and the published policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridops.auth.actor import ALL_HUMAN_ROLES, Actor, Role
from gridops.auth.tokens import TokenVerifier
from gridops.errors import Forbidden, Unauthorized, problems

_bearer = HTTPBearer(auto_error=False, description="JWT issued by the identity provider "
                     "(or `gridops token` in development)")

ANY_ROLE = ALL_HUMAN_ROLES


async def _actor(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a Bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    actor = await verifier.verify(token.strip())
    request.state.actor = actor
    return actor


def allow(*roles: Role) -> Callable[..., Awaitable[Actor]]:
    """A dependency that authenticates and admits only `roles`; scope is checked per resource."""
    allowed = frozenset(roles or ANY_ROLE)

    async def dependency(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> Actor:
        actor = await _actor(request)
        if actor.role not in allowed:
            raise Forbidden(f"role {actor.role.value} may not call this endpoint")
        return actor

    dependency.roles = tuple(sorted(r.value for r in allowed))  # type: ignore[attr-defined]
    return dependency


def declared_roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles an endpoint admits, or None when it declares no policy."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        stack.extend(dep.dependencies)
    return None


def publish_policies(router: APIRouter) -> None:
    """Write each endpoint's roles into its OpenAPI operation (x-roles and the description).
    Runs on a domain router before it is included: included routes copy these fields."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        extra = dict(route.openapi_extra or {})
        if "x-roles" in extra or "x-public" in extra:
            continue  # already published
        _document_problems(route)
        roles = declared_roles(route)
        if roles is None:
            extra["x-public"] = True
        else:
            extra["x-roles"] = list(roles)
            line = "**Roles:** " + ", ".join(f"`{r}`" for r in roles)
            route.description = f"{route.description}\n\n{line}".strip()
        route.openapi_extra = extra


def _document_problems(route: APIRoute) -> None:
    """Every operation documents the problems the app can answer for it, as problem+json:
    400 for an undecodable body, 422 for invalid parameters, 401/403 where a role is needed.
    Open311 answers in its own error form and documents it itself."""
    if route.path.startswith("/open311/"):
        return
    codes = []
    if route.body_field is not None:
        codes.append(400)
    if route.body_field is not None or route.dependant.query_params or (
            route.dependant.path_params):
        codes.append(422)
    if declared_roles(route) is not None:
        codes += [401, 403]
    documented = problems(*codes)
    route.responses = {**{c: documented[c] for c in codes if c not in route.responses
                          and str(c) not in route.responses}, **route.responses}
