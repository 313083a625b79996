"""The state machine, exhaustively: every state × action × role against a table written out by
hand from DOMAIN.md, then the transitions and their outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridops.auth.actor import Role
from gridops.incidents.lifecycle import (
    Action,
    Situation,
    State,
    TransitionError,
    allowed_actions,
    callback_outcome,
    is_rework,
    next_state,
    permits,
    reopen_open,
)

T, DI, IP, SU, RE, CL, ME, VO = ("triage", "dispatched", "in_progress", "suspended", "resolved",
                                 "closed", "merged", "voided")
# action -> (states where allowed, roles who may take it)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "dispatch": ({T}, {"dispatcher"}),
    "accept": ({DI}, {"unit_operator"}),
    "request_return": ({DI}, {"unit_operator"}),
    "decide_return": ({DI}, {"dispatcher"}),
    "redispatch": ({DI, IP}, {"dispatcher"}),
    "request_extension": ({IP}, {"unit_operator"}),
    "decide_extension": ({IP, SU}, {"dispatcher"}),
    "request_suspension": ({IP}, {"unit_operator"}),
    "decide_suspension": ({IP}, {"dispatcher"}),
    "resume": ({SU}, {"unit_operator", "dispatcher"}),
    "resolve": ({IP}, {"unit_operator"}),
    "verify": ({RE}, {"grid_worker", "dispatcher"}),
    "callback": ({RE, CL}, {"dispatcher", "system"}),
    "reopen": ({CL}, {"dispatcher"}),
    "urge": ({DI, IP}, {"dispatcher", "leader", "system"}),
    "supervise": ({DI, IP}, {"dispatcher", "leader", "system"}),
    "merge": ({T, DI, IP, SU}, {"dispatcher"}),
    "void": ({T, DI}, {"dispatcher", "system"}),
    "comment": ({T, DI, IP, SU, RE, CL}, {"grid_worker", "unit_operator", "dispatcher",
                                          "leader"}),
}


def test_the_table_names_every_action_and_state() -> None:
    assert set(EXPECTED) == {a.value for a in Action}
    assert {s.value for s in State} == {T, DI, IP, SU, RE, CL, ME, VO}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_every_state_action_role(state: State, action: Action, role: Role) -> None:
    states, roles = EXPECTED[action.value]
    expected = state.value in states and role.value in roles
    assert permits(action, state, role) is expected
    assert (action.value in allowed_actions(state, role)) is expected


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_next_state_refuses_exactly_the_states_outside_the_table(state: State,
                                                                 action: Action) -> None:
    states, _ = EXPECTED[action.value]
    outcome = {"decide_return": "rejected", "decide_extension": "approved",
               "decide_suspension": "rejected", "verify": "pass",
               "callback": "close"}.get(action.value)
    if state.value in states:
        assert isinstance(next_state(state, action, outcome=outcome, prior_state=IP), State)
    else:
        with pytest.raises(TransitionError):
            next_state(state, action, outcome=outcome, prior_state=IP)


def test_terminal_states_allow_nothing() -> None:
    for role in Role:
        assert allowed_actions(ME, role) == []
        assert allowed_actions(VO, role) == []


def test_auditors_and_admins_never_act() -> None:
    for state in State:
        assert allowed_actions(state, "auditor") == []
        assert allowed_actions(state, "admin") == []


@pytest.mark.parametrize(("state", "action", "outcome", "expected"), [
    (T, "dispatch", None, DI),
    (DI, "accept", None, IP),
    (DI, "request_return", None, DI),
    (DI, "decide_return", "rejected", DI),
    (DI, "decide_return", "to_triage", T),
    (DI, "decide_return", "redispatched", DI),
    (DI, "redispatch", None, DI),
    (IP, "redispatch", None, DI),
    (IP, "request_extension", None, IP),
    (IP, "decide_extension", "approved", IP),
    (SU, "decide_extension", "rejected", SU),
    (IP, "request_suspension", None, IP),
    (IP, "decide_suspension", "approved", SU),
    (IP, "decide_suspension", "rejected", IP),
    (IP, "resolve", None, RE),
    (RE, "verify", "pass", CL),
    (RE, "verify", "fail", IP),
    (RE, "callback", "close", CL),
    (RE, "callback", "rework", IP),
    (CL, "callback", "close", CL),
    (CL, "callback", "rework", IP),
    (CL, "reopen", None, IP),
    (DI, "urge", None, DI),
    (IP, "supervise", None, IP),
    (T, "merge", None, ME),
    (SU, "merge", None, ME),
    (T, "void", None, VO),
    (DI, "void", None, VO),
    (CL, "comment", None, CL),
    (RE, "comment", None, RE),
])
def test_transitions(state: str, action: str, outcome: str | None, expected: str) -> None:
    assert next_state(state, action, outcome=outcome) == expected


@pytest.mark.parametrize("prior", [DI, IP, RE])
def test_resume_returns_to_the_state_it_left(prior: str) -> None:
    assert next_state(SU, "resume", prior_state=prior) == prior


@pytest.mark.parametrize("prior", [None, SU, CL, VO])
def test_resume_without_a_sensible_prior_state_is_refused(prior: str | None) -> None:
    with pytest.raises(TransitionError):
        next_state(SU, "resume", prior_state=prior)


@pytest.mark.parametrize(("state", "action", "outcome"), [
    (DI, "decide_return", None), (DI, "decide_return", "approved"),
    (RE, "verify", None), (RE, "verify", "maybe"), (RE, "callback", "pass"),
    (IP, "decide_suspension", "pass"),
])
def test_branching_actions_need_a_known_outcome(state: str, action: str,
                                                outcome: str | None) -> None:
    with pytest.raises(TransitionError):
        next_state(state, action, outcome=outcome)


def test_rework_without_a_unit_goes_to_triage() -> None:
    assert next_state(RE, "verify", outcome="fail", has_unit=False) == T
    assert next_state(CL, "reopen", has_unit=False) == T
    assert next_state(RE, "callback", outcome="rework", has_unit=False) == T


@pytest.mark.parametrize(("satisfaction", "attributable", "expected"), [
    ("satisfied", True, "close"), ("basic", True, "close"), ("satisfied", False, "close"),
    ("unsatisfied", True, "rework"), ("unsatisfied", False, "close"),
])
def test_callback_outcome(satisfaction: str, attributable: bool, expected: str) -> None:
    assert callback_outcome(satisfaction, attributable) == expected


def test_what_counts_as_rework() -> None:
    assert is_rework("verify", "fail")
    assert not is_rework("verify", "pass")
    assert is_rework("callback", "rework")
    assert not is_rework("callback", "close")
    assert is_rework("reopen", None)
    assert not is_rework("resolve", None)


def test_requests_pair_with_their_decisions() -> None:
    none = Situation()
    assert "request_return" in allowed_actions(DI, "unit_operator", none)
    assert "decide_return" not in allowed_actions(DI, "dispatcher", none)
    pending = Situation(pending=frozenset({"return"}))
    assert "request_return" not in allowed_actions(DI, "unit_operator", pending)
    assert "decide_return" in allowed_actions(DI, "dispatcher", pending)
    both = Situation(pending=frozenset({"extension", "suspension"}))
    assert {"decide_extension", "decide_suspension"} <= set(allowed_actions(IP, "dispatcher",
                                                                            both))
    assert not {"request_extension", "request_suspension"} & set(
        allowed_actions(IP, "unit_operator", both))


def test_urge_before_a_deadline_supervise_after() -> None:
    before = allowed_actions(IP, "leader", Situation(overdue=False))
    after = allowed_actions(IP, "leader", Situation(overdue=True))
    assert "urge" in before
    assert "supervise" not in before
    assert "supervise" in after
    assert "urge" not in after
    unknown = allowed_actions(IP, "leader", Situation())
    assert {"urge", "supervise"} <= set(unknown)


def test_reopen_only_inside_the_window() -> None:
    assert "reopen" in allowed_actions(CL, "dispatcher", Situation(reopen_open=True))
    assert "reopen" not in allowed_actions(CL, "dispatcher", Situation(reopen_open=False))
    closed = datetime(2026, 11, 1, tzinfo=UTC)
    assert reopen_open(closed, closed + timedelta(days=7), 7)
    assert not reopen_open(closed, closed + timedelta(days=7, seconds=1), 7)
    assert not reopen_open(None, closed, 7)


def test_allowed_actions_keeps_a_stable_order() -> None:
    assert allowed_actions(IP, "dispatcher") == [
        "redispatch", "decide_extension", "decide_suspension", "urge", "supervise", "merge",
        "comment"]
    assert allowed_actions(T, "dispatcher") == ["dispatch", "merge", "void", "comment"]
