"""The work-order state machine of DOMAIN.md, pure: which action is allowed in which state, for
which role, and where it leads. `actions.py` applies it to the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from gridops.auth.actor import Role


class State(StrEnum):
    triage = "triage"
    dispatched = "dispatched"
    in_progress = "in_progress"
    suspended = "suspended"
    resolved = "resolved"
    closed = "closed"
    merged = "merged"
    voided = "voided"


class Action(StrEnum):
    dispatch = "dispatch"
    accept = "accept"
    request_return = "request_return"
    decide_return = "decide_return"
    redispatch = "redispatch"
    request_extension = "request_extension"
    decide_extension = "decide_extension"
    request_suspension = "request_suspension"
    decide_suspension = "decide_suspension"
    resume = "resume"
    resolve = "resolve"
    verify = "verify"
    callback = "callback"
    reopen = "reopen"
    urge = "urge"
    supervise = "supervise"
    merge = "merge"
    void = "void"
    comment = "comment"


OPEN_STATES = frozenset({State.triage, State.dispatched, State.in_progress, State.suspended,
                         State.resolved})
TERMINAL_STATES = frozenset({State.merged, State.voided})
# Outcomes of the actions that branch.
Outcome = Literal["approved", "rejected", "to_triage", "redispatched", "pass", "fail", "close",
                  "rework"]


@dataclass(frozen=True, slots=True)
class Rule:
    states: frozenset[State]
    roles: frozenset[Role]


def _rule(states: set[State], roles: set[Role]) -> Rule:
    return Rule(frozenset(states), frozenset(roles))


S, R = State, Role
_D, _U, _G, _L, _SYS = R.dispatcher, R.unit_operator, R.grid_worker, R.leader, R.system

RULES: Mapping[Action, Rule] = {
    Action.dispatch: _rule({S.triage}, {_D}),
    Action.accept: _rule({S.dispatched}, {_U}),
    Action.request_return: _rule({S.dispatched}, {_U}),
    Action.decide_return: _rule({S.dispatched}, {_D}),
    Action.redispatch: _rule({S.dispatched, S.in_progress}, {_D}),
    Action.request_extension: _rule({S.in_progress}, {_U}),
    # A pending extension may be decided after the order was suspended meanwhile.
    Action.decide_extension: _rule({S.in_progress, S.suspended}, {_D}),
    Action.request_suspension: _rule({S.in_progress}, {_U}),
    Action.decide_suspension: _rule({S.in_progress}, {_D}),
    Action.resume: _rule({S.suspended}, {_U, _D}),
    Action.resolve: _rule({S.in_progress}, {_U}),
    Action.verify: _rule({S.resolved}, {_G, _D}),
    # The hotline's callback (回访) often comes after the on-site check already closed the order.
    Action.callback: _rule({S.resolved, S.closed}, {_D, _SYS}),
    Action.reopen: _rule({S.closed}, {_D}),
    Action.urge: _rule({S.dispatched, S.in_progress}, {_D, _L, _SYS}),
    Action.supervise: _rule({S.dispatched, S.in_progress}, {_D, _L, _SYS}),
    Action.merge: _rule({S.triage, S.dispatched, S.in_progress, S.suspended}, {_D}),
    Action.void: _rule({S.triage, S.dispatched}, {_D, _SYS}),
    # Notes stay possible on a closed order (it can be reopened), never on a terminal one.
    Action.comment: _rule(set(OPEN_STATES) | {S.closed}, {_G, _U, _D, _L}),
}

# Which pending request each request/decision action is about.
REQUEST_KIND: Mapping[Action, str] = {
    Action.request_return: "return", Action.decide_return: "return",
    Action.request_extension: "extension", Action.decide_extension: "extension",
    Action.request_suspension: "suspension", Action.decide_suspension: "suspension",
}


@dataclass(frozen=True, slots=True)
class Situation:
    """What besides state and role decides whether an action makes sense now. `None` means
    unknown: the condition is not applied."""

    pending: frozenset[str] = frozenset()  # kinds of pending requests
    overdue: bool | None = None  # some running clock is past its deadline
    reopen_open: bool | None = None  # still within the reopen window


def permits(action: Action, state: State, role: Role) -> bool:
    rule = RULES[action]
    return state in rule.states and role in rule.roles


def fits(action: Action, situation: Situation) -> bool:
    """Request/decision pairing, urge before and supervise after a deadline, the reopen window."""
    kind = REQUEST_KIND.get(action)
    if kind is not None:
        pending = kind in situation.pending
        return pending if action.name.startswith("decide_") else not pending
    if action is Action.urge and situation.overdue is not None:
        return not situation.overdue
    if action is Action.supervise and situation.overdue is not None:
        return situation.overdue
    if action is Action.reopen and situation.reopen_open is not None:
        return situation.reopen_open
    return True


def allowed_actions(state: State | str, role: Role | str,
                    situation: Situation | None = None) -> list[str]:
    """The actions `role` may take in `state` (in a fixed order), narrowed by `situation`."""
    state, role = State(state), Role(role)
    return [a.value for a in Action
            if permits(a, state, role) and (situation is None or fits(a, situation))]


class TransitionError(ValueError):
    def __init__(self, state: State, action: Action, why: str) -> None:
        super().__init__(f"{action.value} is not possible in state {state.value}: {why}")
        self.state, self.action = state, action


def rework_state(has_unit: bool) -> State:
    """Rework (返工/重办) goes back to the unit; an order without one (就地解决) goes to triage."""
    return State.in_progress if has_unit else State.triage


def callback_outcome(satisfaction: str, attributable: bool) -> Literal["close", "rework"]:
    """Satisfied or basically satisfied closes; dissatisfaction the unit is answerable for is
    rework; dissatisfaction nobody could have helped (policy, a demand beyond the law) closes."""
    return "rework" if satisfaction == "unsatisfied" and attributable else "close"


_BRANCHES: Mapping[Action, Mapping[str, State | None]] = {
    # None: the order stays where it is.
    Action.decide_return: {"rejected": None, "to_triage": S.triage,
                           "redispatched": S.dispatched},
    Action.decide_extension: {"approved": None, "rejected": None},
    Action.decide_suspension: {"approved": S.suspended, "rejected": None},
}
_FIXED: Mapping[Action, State] = {
    Action.dispatch: S.dispatched, Action.accept: S.in_progress,
    Action.redispatch: S.dispatched, Action.resolve: S.resolved,
    Action.merge: S.merged, Action.void: S.voided,
}


def next_state(state: State | str, action: Action | str, *, outcome: str | None = None,
               prior_state: State | str | None = None, has_unit: bool = True) -> State:
    """Where `action` leads from `state`. Branching actions need their `outcome`; resume needs
    the state the order was suspended from. Roles are not checked here (see `permits`)."""
    state, action = State(state), Action(action)
    if state not in RULES[action].states:
        raise TransitionError(state, action, "not allowed in this state")
    if action in _FIXED:
        return _FIXED[action]
    if action in _BRANCHES:
        branches = _BRANCHES[action]
        if outcome is None or outcome not in branches:
            raise TransitionError(state, action, f"unknown outcome {outcome!r}")
        return branches[outcome] or state
    if action is Action.resume:
        if prior_state is None or State(prior_state) not in OPEN_STATES - {S.suspended}:
            raise TransitionError(state, action, f"cannot resume to {prior_state!r}")
        return State(prior_state)
    if action is Action.verify:
        return _outcome(state, action, outcome, {"pass": S.closed, "fail": rework_state(has_unit)})
    if action is Action.callback:
        return _outcome(state, action, outcome, {"close": S.closed,
                                                 "rework": rework_state(has_unit)})
    if action is Action.reopen:
        return rework_state(has_unit)
    return state  # request_*, urge, supervise, comment


def _outcome(state: State, action: Action, outcome: str | None,
             targets: Mapping[str, State]) -> State:
    if outcome is None or outcome not in targets:
        raise TransitionError(state, action, f"unknown outcome {outcome!r}")
    return targets[outcome]


def is_rework(action: Action | str, outcome: str | None) -> bool:
    """Counted in rework_count: a failed check, attributable dissatisfaction, a reopening."""
    action = Action(action)
    return (action is Action.reopen or (action is Action.verify and outcome == "fail")
            or (action is Action.callback and outcome == "rework"))


def reopen_open(closed_at: datetime | None, now: datetime, window_days: int) -> bool:
    return closed_at is not None and now - closed_at <= timedelta(days=window_days)
