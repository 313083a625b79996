"""The realistic traffic of a command centre, as calls for the load engine (bench/_load.py).

- reads (70%): incident lists in several scopes and filters, details, timelines, the SLA board;
- creates (20%): grid workers' reports (corpus texts at points inside their own grid);
- actions (10%): each incident moves along its life one step at a time — dispatch from triage,
  accept (签收), resolve (办结反馈, with a photo when the item requires one), verify (核查) — by
  a token of the right role and scope; an incident is held by one caller while it is acted on,
  so a 409 here is a bug, not a lost race;
- signed 12345 webhook batches (new orders, amendments, repeats), sent by `hotline_batches`.
Every created incident is remembered with its tag, so the drills can look for it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import struct
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import _server as srv
import httpx
from _load import Recorder

from gridops.hotline.signing import sign
from gridops.settings import HotlineSettings

API = "/api/v1/incidents"


def tiny_png() -> bytes:
    """A valid 1×1 PNG (storage checks the content, not the name)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@dataclass
class Incident:
    id: str
    state: str
    version: int
    unit: str | None
    street: str | None
    grid: str | None
    candidates: list[tuple[str, str]]


def _record(body: dict[str, Any]) -> Incident:
    routing = body.get("routing") or {}
    return Incident(body["id"], body["state"], body["version"], body.get("unit_code"),
                    body.get("assigned_street_code") or body.get("street_code"),
                    body.get("grid_code"),
                    [(c["item_code"], c["unit_code"]) for c in routing.get("candidates", [])])


@dataclass
class Mix:
    bodies: srv.Bodies = field(default_factory=srv.Bodies)
    roles: dict[str, str] = field(default_factory=srv.tokens)
    board: bool = True
    actions: bool = True
    by_state: dict[str, list[Incident]] = field(default_factory=lambda: defaultdict(list))
    known: list[str] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # tag -> incident id (201 seen)
    items: set[tuple[str, str]] = field(default_factory=set)
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    _tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    def _auth(self, *key: str) -> dict[str, str]:
        token = self._tokens.get(key)
        if token is None:
            if key[0] == "grid":
                token = srv.grid_worker_token(key[1])
            elif key[0] == "unit":
                token = srv.unit_token(key[1], key[2] if key[1] == "STR" else None)
            else:
                token = self.roles[key[0]]
            self._tokens[key] = token
        return {"Authorization": f"Bearer {token}"}

    def _remember(self, incident: Incident) -> None:
        self.by_state[incident.state].append(incident)
        self.known.append(incident.id)
        if len(self.known) > 5000:
            del self.known[: len(self.known) - 5000]

    def _take(self, *states: str) -> Incident | None:
        pools = [self.by_state[s] for s in states if self.by_state[s]]
        if not pools:
            return None
        pool = self.rng.choice(pools)
        i = self.rng.randrange(len(pool))
        pool[i], pool[-1] = pool[-1], pool[i]
        return pool.pop()

    async def probe(self, client: httpx.AsyncClient) -> None:
        """Leave out what the server does not serve yet (and say so in the report)."""
        board = await client.get("/api/v1/sla/board", headers=self._auth("dispatcher"))
        self.board = board.status_code == 200
        accept = await client.post(f"{API}/00000000-0000-0000-0000-000000000000/accept",
                                   json={"version": 1}, headers=self._auth("unit", "UMLE", ""))
        self.actions = accept.headers.get("content-type") == "application/problem+json" and \
            "/problems/" in accept.json().get("type", "")

    # --- the calls ---------------------------------------------------------------------------

    async def __call__(self, client: httpx.AsyncClient) -> tuple[str, int]:
        roll = self.rng.random()
        if roll < 0.20 or not self.known:
            return await self.create(client)
        if roll < 0.30 and self.actions:
            return await self.act(client)
        return await self.read(client)

    async def create(self, client: httpx.AsyncClient) -> tuple[str, int]:
        body, point, tag = self.bodies.next()
        response = await client.post(API, json=body, headers=self._auth("grid", point.grid_code))
        if response.status_code == 201:
            document = response.json()
            self.acknowledged[tag] = document["id"]
            incident = _record(document)
            self.items.update(incident.candidates[:1])
            self._remember(incident)
        return "create", response.status_code

    async def read(self, client: httpx.AsyncClient) -> tuple[str, int]:
        roll = self.rng.random()
        if roll < 0.45:
            return await self._list(client)
        if roll < 0.80:
            response = await client.get(f"{API}/{self.rng.choice(self.known)}",
                                        headers=self._auth("dispatcher"))
            return "detail", response.status_code
        if roll < 0.90 or not self.board:
            response = await client.get(f"{API}/{self.rng.choice(self.known)}/events",
                                        headers=self._auth("auditor"))
            return "events", response.status_code
        response = await client.get("/api/v1/sla/board", headers=self._auth("dispatcher"))
        return "board", response.status_code

    async def _list(self, client: httpx.AsyncClient) -> tuple[str, int]:
        point = self.rng.choice(self.bodies.points)
        choices: list[tuple[dict[str, str], dict[str, Any]]] = [
            (self._auth("dispatcher"), {"limit": 50}),
            (self._auth("dispatcher"), {"state": "triage", "limit": 20}),
            (self._auth("dispatcher"), {"street": point.grid_code[:9], "sort": "due"}),
            (self._auth("leader"), {"overdue": "true", "limit": 50}),
            (self._auth("unit", "UMLE", ""), {"state": "dispatched"}),
            (self._auth("grid", point.grid_code), {}),
        ]
        headers, params = self.rng.choice(choices)
        response = await client.get(API, params=params, headers=headers)
        return "list", response.status_code

    async def act(self, client: httpx.AsyncClient) -> tuple[str, int]:
        incident = self._take("triage", "dispatched", "in_progress", "resolved")
        if incident is None:
            return await self.read(client)
        step = {"triage": self._dispatch, "dispatched": self._accept,
                "in_progress": self._resolve, "resolved": self._verify}[incident.state]
        label, response = await step(client, incident)
        if response.status_code == 200:
            moved = _record(response.json())
            moved.candidates = incident.candidates
            self._remember(moved)
        elif response.status_code >= 500:
            self.by_state[incident.state].append(incident)  # try again later
        # A 4xx is reported by its label and the incident rests where it is.
        return label, response.status_code

    def _unit(self, incident: Incident) -> dict[str, str]:
        return self._auth("unit", incident.unit or "", incident.street or "")

    async def _dispatch(self, client: httpx.AsyncClient,
                        incident: Incident) -> tuple[str, httpx.Response]:
        item, unit = (incident.candidates or sorted(self.items) or [("", "UMLE")])[0]
        body: dict[str, Any] = {"version": incident.version, "unit_code": unit,
                                "note": "压测派单"}
        if item:
            body["item_code"] = item
        return "dispatch", await client.post(f"{API}/{incident.id}/dispatch", json=body,
                                             headers=self._auth("dispatcher"))

    async def _accept(self, client: httpx.AsyncClient,
                      incident: Incident) -> tuple[str, httpx.Response]:
        return "accept", await client.post(f"{API}/{incident.id}/accept",
                                           json={"version": incident.version},
                                           headers=self._unit(incident))

    async def _resolve(self, client: httpx.AsyncClient,
                       incident: Incident) -> tuple[str, httpx.Response]:
        url, body = f"{API}/{incident.id}/resolve", {"version": incident.version,
                                                     "result": "已现场处置完毕，恢复正常。"}
        response = await client.post(url, json=body, headers=self._unit(incident))
        if response.status_code == 422 and "photo_required" in response.text:
            upload = await client.post(f"{API}/{incident.id}/attachments",
                                       files={"photos": ("after.png", tiny_png(), "image/png")},
                                       data={"purpose": "resolve"}, headers=self._unit(incident))
            if upload.status_code != 201:
                return "attach", upload
            body["version"] = incident.version + 1  # attaching is a change of the incident
            response = await client.post(url, json=body, headers=self._unit(incident))
            if response.status_code == 409:  # the attachment did not bump the version
                body["version"] = incident.version
                response = await client.post(url, json=body, headers=self._unit(incident))
        return "resolve", response

    async def _verify(self, client: httpx.AsyncClient,
                      incident: Incident) -> tuple[str, httpx.Response]:
        headers = self._auth("grid", incident.grid) if incident.grid else \
            self._auth("dispatcher")
        return "verify", await client.post(f"{API}/{incident.id}/verify", json={
            "version": incident.version, "result": "pass", "note": "现场核查已整改"},
            headers=headers)


@dataclass
class Hotline:
    """Signed 12345 batches: new orders, amendments of earlier ones, and plain repeats."""

    bodies: srv.Bodies = field(default_factory=lambda: srv.Bodies(rng=random.Random(5)))
    sent: dict[str, int] = field(default_factory=dict)  # order_no -> latest version sent
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    secret: str = field(default_factory=lambda: HotlineSettings().secret.get_secret_value())
    rng: random.Random = field(default_factory=lambda: random.Random(3))

    def _order(self) -> dict[str, Any]:
        if self.sent and self.rng.random() < 0.2:
            order_no = self.rng.choice(list(self.sent))
            if self.rng.random() < 0.5:
                self.sent[order_no] += 1  # an amendment (新版本)
            version = self.sent[order_no]
        else:
            order_no, version = f"B{time.time_ns()}{self.rng.randrange(1000):03d}", 1
            self.sent[order_no] = version
        body, _, _ = self.bodies.next()
        return {"order_no": order_no, "version": version,
                "event": "created" if version == 1 else "updated",
                "received_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "channel": "phone", "urgency": "normal", "kind": "投诉", "title": "市民来电",
                "content": body["text"], "address": "石峰区", "location": body["location"],
                "caller": {"name": "张先生", "phone": "13800000000", "confidential": False}}

    async def send(self, client: httpx.AsyncClient, size: int) -> tuple[str, int]:
        body = json.dumps({"orders": [self._order() for _ in range(size)]},
                          ensure_ascii=False).encode()
        ts = str(int(time.time()))
        response = await client.post("/webhooks/12345", content=body, headers={
            "Content-Type": "application/json", "X-Hotline-Timestamp": ts,
            "X-Hotline-Signature": sign(self.secret, ts, body)})
        if response.status_code == 200:
            for result in response.json()["results"]:
                self.statuses[result["status"]] += 1
        return "webhook", response.status_code


async def hotline_batches(base: str, hotline: Hotline, recorder: Recorder, *, every: float,
                          size: int, seconds: float) -> None:
    """A batch every `every` seconds for `seconds`, recorded with the rest of the traffic."""
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                label, status = await hotline.send(client, size)
                recorder.add(label, status, time.perf_counter() - t0)
            except httpx.HTTPError as exc:
                recorder.failures[type(exc).__name__] += 1
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - t0)))
