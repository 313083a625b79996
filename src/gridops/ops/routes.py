"""The app's API routes with their full paths, whichever way FastAPI stores included routers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute


@dataclass(frozen=True, slots=True)
class Operation:
    path: str
    methods: frozenset[str]
    route: APIRoute


def api_routes(app: FastAPI) -> Iterator[Operation]:
    # Newer FastAPI keeps included routers lazily; `iter_route_contexts` resolves their paths.
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield Operation(route.path, frozenset(route.methods or ()), route)
        return
    for context in iterate(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            yield Operation(context.path, frozenset(context.methods or ()), route)
