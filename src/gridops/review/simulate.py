"""`gridops simulate`: a realistic history made through the real services (intake, the lifecycle
actions, clocks, audit, outbox), in simulated time. Every action runs at its own `now`, taken in
time order from one agenda, so clocks, deadlines and the audit trail are what they would have
been. The demo data for `make run` and data for benchmarks."""

from __future__ import annotations

import heapq
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.auth.actor import HOTLINE, Actor, Role
from gridops.clock import working
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.errors import GridopsError
from gridops.incidents import action_schemas as s
from gridops.incidents import actions, intake, storage
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentIn, ReporterIn
from gridops.places.models import Grid
from gridops.routing import service as routing
from gridops.settings import Settings

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "routing" / "corpus" / "tune.jsonl"
DISPATCHER = Actor(subject="sim-dispatcher", role=Role.dispatcher, name="模拟值班长")
# A 1×1 PNG: the result photo some item standards require at resolve.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cf000001010100189dd7a70000000049454e44ae426082")
Step = Callable[["Sim", uuid.UUID, datetime], Awaitable[None]]


def load_texts(path: Path = CORPUS) -> list[dict[str, Any]]:
    """Complaint texts from the routing corpus's tuning half (never the held-out half)."""
    if "heldout" in path.name:
        raise ValueError("the held-out corpus is for routing evaluation only")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class Sim:
    session: AsyncSession
    settings: Settings
    cal: WorkingCalendar
    rng: random.Random
    horizon: datetime
    store: storage.Storage
    agenda: list[tuple[datetime, int, str, uuid.UUID]] = field(default_factory=list)
    seq: int = 0
    done: dict[str, int] = field(default_factory=dict)
    closed: list[tuple[str, str, datetime]] = field(default_factory=list)  # grid, text, at

    def later(self, at: datetime, step: str, incident_id: uuid.UUID) -> None:
        if at < self.horizon:
            self.seq += 1
            heapq.heappush(self.agenda, (at, self.seq, step, incident_id))

    def ctx(self, actor: Actor, now: datetime) -> actions.Ctx:
        return actions.Ctx(actor=actor, now=now, cal=self.cal, settings=self.settings)

    def after_hours(self, at: datetime, lo: float, hi: float) -> datetime:
        return working.add_working(at, self.rng.uniform(lo, hi) * 60, self.cal)

    async def clock_share(self, incident_id: uuid.UUID, kind: str, at: datetime,
                          share: float) -> datetime:
        """The moment `share` of the open `kind` limit (with extensions) has run."""
        clock = await self.session.scalar(select(SlaClock).where(
            SlaClock.incident_id == incident_id, SlaClock.kind == kind,
            SlaClock.outcome.is_(None)).order_by(SlaClock.round.desc()).limit(1))
        if clock is None:
            return self.after_hours(at, 1, 8)
        basis: working.Basis = "continuous" if clock.basis == "continuous" else "working"
        total = clock.limit_minutes + clock.extended_minutes
        target = working.add(basis, clock.started_at, share * total, self.cal)
        return max(target, at + timedelta(minutes=5))


async def _incident(sim: Sim, incident_id: uuid.UUID) -> Incident:
    return await actions.load(sim.session, incident_id, lock=False)


def operator(incident: Incident) -> Actor:
    street = incident.assigned_street_code if incident.unit_code == "STR" else None
    return Actor(subject=f"sim-{incident.unit_code}-{street or 'op'}", role=Role.unit_operator,
                 unit_code=incident.unit_code, street_code=street, name="承办人")


async def triage(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    candidates = (inc.routing or {}).get("candidates") or []
    if not candidates or sim.rng.random() < 0.15:
        await actions.void(sim.session, iid, s.ReasonIn(reason="非本平台受理范围，作废"),
                           sim.ctx(DISPATCHER, now))
        return
    top = candidates[0]
    await actions.dispatch(sim.session, iid, s.DispatchIn(
        unit_code=top["unit_code"], item_code=top["item_code"], note="研判后派单"),
        sim.ctx(DISPATCHER, now))
    sim.later(await sim.clock_share(iid, "sign", now, sim.rng.uniform(0.1, 0.9)), "sign", iid)


async def sign(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    if inc.state != "dispatched":
        return
    if sim.rng.random() < 0.06 and not inc.return_count:
        await actions.request_return(sim.session, iid, s.ReturnIn(
            reason="经核实不属于本单位职责范围，申请退回"), sim.ctx(operator(inc), now))
        sim.later(sim.after_hours(now, 0.5, 4), "decide_return", iid)
        return
    await actions.accept(sim.session, iid, s.ActionIn(), sim.ctx(operator(inc), now))
    roll = sim.rng.random()
    share = sim.rng.uniform(0.2, 0.95) if roll < 0.78 else sim.rng.uniform(1.05, 2.2)
    if roll > 0.97:
        return  # never resolved in the simulated time: open, and soon overdue
    if roll < 0.08:
        sim.later(await sim.clock_share(iid, "resolve", now, 0.5), "extend", iid)
    elif roll < 0.12:
        sim.later(sim.after_hours(now, 1, 6), "suspend", iid)
    sim.later(await sim.clock_share(iid, "resolve", now, share), "resolve", iid)


async def decide_return(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    approve = sim.rng.random() < 0.7
    candidates = [c for c in (inc.routing or {}).get("candidates") or []
                  if c["unit_code"] != inc.unit_code]
    target = candidates[0] if approve and candidates else None
    await actions.decide_return(sim.session, iid, s.ReturnDecisionIn(
        approve=approve, unit_code=target["unit_code"] if target else None,
        item_code=target["item_code"] if target else None,
        note="退单理由成立，改派" if approve else "属于你单位职责，请签收办理"),
        sim.ctx(DISPATCHER, now))
    inc = await _incident(sim, iid)
    step = "triage" if inc.state == "triage" else "sign"
    sim.later(sim.after_hours(now, 0.2, 2), step, iid)


async def extend(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    if inc.state != "in_progress":
        return
    hours = float(sim.rng.choice((8, 16, 24)))
    await actions.request_extension(sim.session, iid, s.ExtensionIn(
        hours=hours, reason="需协调产权单位，申请延期"), sim.ctx(operator(inc), now))
    await actions.decide_extension(sim.session, iid, s.ExtensionDecisionIn(
        approve=sim.rng.random() < 0.8, note="审核"), sim.ctx(DISPATCHER, now + timedelta(
            minutes=sim.rng.randint(10, 90))))


async def suspend(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    if inc.state != "in_progress":
        return
    await actions.request_suspension(sim.session, iid, s.SuspensionIn(
        reason="当事人外出，待其返回后处理"), sim.ctx(operator(inc), now))
    decided = now + timedelta(minutes=sim.rng.randint(10, 60))
    await actions.decide_suspension(sim.session, iid, s.DecisionIn(approve=True, note="同意"),
                                    sim.ctx(DISPATCHER, decided))
    sim.later(sim.after_hours(decided, 4, 16), "resume", iid)


async def resume(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    if inc.state == "suspended":
        await actions.resume(sim.session, iid, s.ActionIn(note="条件具备，恢复办理"),
                             sim.ctx(operator(inc), now))


async def resolve(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    if inc.state == "suspended":  # try again once resumed
        sim.later(sim.after_hours(now, 4, 12), "resolve", iid)
        return
    if inc.state != "in_progress":
        return
    ctx = sim.ctx(operator(inc), now)
    await storage.attach(sim.session, sim.store, inc, [storage.Upload(
        "result.png", "image/png", PNG)], purpose="resolve", actor=ctx.actor, now=now)
    await actions.resolve(sim.session, iid, s.ResolveIn(
        result="已现场处置完毕，问题已解决，并向群众反馈。"), ctx)
    step = "callback" if inc.channel == intake.HOTLINE else "verify"
    sim.later(sim.after_hours(now, 1, 12), step, iid)


async def verify(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    worker = Actor(subject=f"sim-grid-{inc.grid_code}", role=Role.grid_worker,
                   grid_code=inc.grid_code) if inc.grid_code else DISPATCHER
    fail = sim.rng.random() < 0.07
    await actions.verify(sim.session, iid, s.VerifyIn(
        result="fail" if fail else "pass", note="现场仍未整改到位" if fail else "现场核查已整改"),
        sim.ctx(worker, now))
    await _after_check(sim, iid, now)


async def callback(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    roll = sim.rng.random()
    satisfaction = "satisfied" if roll < 0.74 else ("basic" if roll < 0.9 else "unsatisfied")
    await actions.callback(sim.session, iid, s.CallbackIn(
        resolved=satisfaction != "unsatisfied" or sim.rng.random() < 0.2,
        satisfaction=satisfaction, attributable=sim.rng.random() < 0.6,
        comment="回访记录"), sim.ctx(HOTLINE, now))
    await _after_check(sim, iid, now)


async def _after_check(sim: Sim, iid: uuid.UUID, now: datetime) -> None:
    inc = await _incident(sim, iid)
    if inc.state == "in_progress":  # rework (返工/重办)
        sim.later(await sim.clock_share(iid, "resolve", now, sim.rng.uniform(0.2, 1.3)),
                  "resolve", iid)
    elif inc.state == "closed" and inc.grid_code:
        sim.closed.append((inc.grid_code, inc.text, now))


STEPS: dict[str, Step] = {
    "triage": triage, "sign": sign, "decide_return": decide_return, "extend": extend,
    "suspend": suspend, "resume": resume, "resolve": resolve, "verify": verify,
    "callback": callback,
}


async def receive(sim: Sim, texts: list[dict[str, Any]], grids: list[Grid],
                  now: datetime) -> None:
    rng = sim.rng
    recent = [c for c in sim.closed[-200:] if now - c[2] < timedelta(hours=72)]
    if recent and rng.random() < 0.04:  # the same complaint again after a closure (假闭环)
        grid_code, text, _ = rng.choice(recent)
    else:
        grid_code, text = rng.choice(grids).code, rng.choice(texts)["text"]
    hotline = rng.random() < 0.6
    data = IncidentIn(text=text, grid_code=grid_code, reporter=ReporterIn(
        name="张先生", phone=f"13{rng.randint(100000000, 999999999)}") if hotline else None)
    actor = HOTLINE if hotline else Actor(subject=f"sim-grid-{grid_code}",
                                          role=Role.grid_worker, grid_code=grid_code)
    inc = await intake.receive(sim.session, data, actor=actor, now=now, cal=sim.cal,
                               settings=sim.settings,
                               channel=intake.HOTLINE if hotline else "grid_app",
                               external_id=f"SIM{uuid.uuid4().hex[:16]}" if hotline else None)
    if inc.state == "triage":
        sim.later(sim.after_hours(now, 0.2, 3), "triage", inc.id)
    elif inc.state == "dispatched":
        sim.later(await sim.clock_share(inc.id, "sign", now, rng.uniform(0.05, 0.9)
                                        if rng.random() < 0.86 else rng.uniform(1.1, 2.5)),
                  "sign", inc.id)


def arrivals(rng: random.Random, start: datetime, days: int, per_day: int,
             cal: WorkingCalendar) -> list[datetime]:
    """Reports through the day, fewer on rest days; hotline hours 08:00–22:00 local."""
    moments = []
    for d in range(days):
        midnight = start + timedelta(days=d)
        n = per_day if cal.is_workday(cal.local(midnight).date()) else max(1, per_day * 2 // 5)
        moments += [midnight + timedelta(hours=rng.uniform(8, 22)) for _ in range(n)]
    return sorted(moments)


async def run(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
              cal: WorkingCalendar, *, start: datetime, horizon: datetime, per_day: int,
              seed: int, texts: list[dict[str, Any]],
              progress: Callable[[int], None] = lambda n: None) -> dict[str, int]:
    """Simulate from `start` (a local midnight) to `horizon`; commits once per simulated day."""
    rng = random.Random(seed)
    store = storage.LocalStorage(settings.storage.path)
    days = max(1, (horizon - start).days)
    moments = [m for m in arrivals(rng, start, days, per_day, cal) if m < horizon]
    async with sessionmaker() as session:
        grids = list((await session.scalars(select(Grid).order_by(Grid.code))).all())
        if not grids:
            raise RuntimeError("no grids: run `gridops demo` first")
        await routing.active_rules(session)
        await session.commit()
        sim = Sim(session, settings, cal, rng, horizon, store)
        for n, moment in enumerate(moments):
            sim.seq += 1
            heapq.heappush(sim.agenda, (moment, sim.seq, "receive", uuid.UUID(int=n)))
        day = start.date()
        while sim.agenda:
            at, _, step, iid = heapq.heappop(sim.agenda)
            if at.date() != day:
                await session.commit()
                day = at.date()
            try:
                async with session.begin_nested():
                    if step == "receive":
                        await receive(sim, texts, grids, at)
                        progress(1)
                    else:
                        await STEPS[step](sim, iid, at)
                sim.done[step] = sim.done.get(step, 0) + 1
            except GridopsError:
                sim.done["refused"] = sim.done.get("refused", 0) + 1
        await session.commit()
    return sim.done
