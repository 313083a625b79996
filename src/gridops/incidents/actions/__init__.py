"""The lifecycle actions, one service function per action of `lifecycle.py`.

Every function takes the incident id, the action's request body and a `Ctx` (actor, now,
calendar, settings, the version the client read); it locks the incident, checks role, scope,
version and state, applies the transition, drives the clocks, records routing corrections,
writes the audit event and the hotline's outbox update, all in the caller's transaction (flush,
never commit), and returns the incident (or the request it created).
"""

from gridops.incidents.actions.base import ActionNotAllowed, Ctx, VersionMismatch, load
from gridops.incidents.actions.closing import callback, reopen, resolve, verify
from gridops.incidents.actions.dispatching import (
    accept,
    decide_return,
    dispatch,
    redispatch,
    request_return,
)
from gridops.incidents.actions.oversight import comment, merge, supervise, urge, void
from gridops.incidents.actions.requests import (
    decide_extension,
    decide_suspension,
    pending_requests,
    request_extension,
    request_suspension,
    requests_of,
    resume,
)

__all__ = [
    "ActionNotAllowed", "Ctx", "VersionMismatch", "accept", "callback", "comment",
    "decide_extension", "decide_return", "decide_suspension", "dispatch", "load", "merge",
    "pending_requests", "redispatch", "reopen", "request_extension", "request_return",
    "request_suspension", "requests_of", "resolve", "resume", "supervise", "urge", "verify",
    "void",
]
