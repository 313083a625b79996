"""Shared plumbing of the benchmarks and drills: a scratch PostgreSQL database migrated and loaded
with the demo district (`gridops migrate` + `gridops demo`), uvicorn servers on free ports of
127.0.0.1, development tokens, demo grid points, realistic texts, and process memory.

Everything started here is stopped by `Stack.close()` (SIGTERM, then SIGKILL after a grace period);
the scratch database is dropped unless GRIDOPS_BENCH_KEEP_DB=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
BASE_URL = os.environ.get("GRIDOPS_BENCH_DATABASE_URL",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
DEMO_PACK = ROOT / "src" / "gridops" / "demo" / "pack"
CORPUS = ROOT / "tests" / "routing" / "corpus" / "tune.jsonl"
LOGS = ROOT / "var" / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_dsn() -> str:
    return make_url(BASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Database:
    name: str
    url: str  # SQLAlchemy URL (postgresql+asyncpg://…)

    @property
    def dsn(self) -> str:
        """The plain libpq URL asyncpg takes."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(
            hide_password=False)

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn)

    async def scalar(self, sql: str, *args: object) -> object:
        conn = await self.connect()
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await self.connect()
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


async def create_database(prefix: str = "gridops_bench") -> Database:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return Database(name, make_url(BASE_URL).set(database=name).render_as_string(
        hide_password=False))


async def drop_database(db: Database) -> None:
    if os.environ.get("GRIDOPS_BENCH_KEEP_DB") == "1":
        print(f"kept database {db.name}", file=sys.stderr)
        return
    for _ in range(10):  # PostgreSQL may still be coming back after a restart drill
        try:
            conn = await asyncpg.connect(_admin_dsn())
            break
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1)
    else:
        print(f"could not drop {db.name}", file=sys.stderr)
        return
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
    finally:
        await conn.close()


def gridops_env(db: Database, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDOPS_")}
    env |= {"GRIDOPS_DATABASE__URL": db.url, "GRIDOPS_ENVIRONMENT": "dev",
            "GRIDOPS_LOG_LEVEL": "WARNING", "GRIDOPS_STORAGE__PATH": str(LOGS / "uploads")}
    env |= extra
    return env


def prepare(db: Database) -> None:
    """Schema from the migrations, then the demo district and rule table, as an operator would."""
    env = gridops_env(db)
    demo = ["demo"]
    if os.environ.get("GRIDOPS_BENCH_RULES"):  # another rule table than the demo one
        demo += ["--rules", os.environ["GRIDOPS_BENCH_RULES"]]
    for args in (["migrate"], demo):
        done = subprocess.run([str(BIN / "gridops"), *args], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"gridops {' '.join(args)} failed:\n{done.stderr}")


def children(pid: int) -> list[int]:
    """Direct children of `pid` (uvicorn's worker processes), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: parse after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(database: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL processes serving `database` on this host,
    found by their command line (None when there are none: SQLite, or a server elsewhere). On a
    shared machine this and the client's own CPU time are steadier than wall time. Parallel
    query workers are gone, and not named by database, when it is read: a statement that used
    them is undercounted."""
    backends = database_backends(database)
    return sum(backends.values()) if backends else None


def database_backends(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process serving `database` on this host, by pid.
    Comparing two readings over the pids in both tells whether a backend came or went between
    them (its CPU then escapes a sum)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and f" {database} " in _cmdline(int(entry.name)):
            found[int(entry.name)] = process_cpu(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    port: int | None = None
    log_path: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """uvicorn's worker processes (or the process itself when it serves alone); not
        multiprocessing's resource tracker."""
        kids = [pid for pid in children(self.pid) if "resource_tracker" not in _cmdline(pid)]
        return kids or [self.pid]

    def stop(self, grace: float = 25.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                for pid in children(self.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


@dataclass
class Stack:
    """What one benchmark or drill started; closed in reverse order."""

    db: Database | None = None
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str],
              port: int | None = None) -> Process:
        LOGS.mkdir(parents=True, exist_ok=True)
        log_path = LOGS / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        process = Process(name, popen, port, log_path)
        self.processes.append(process)
        return process

    def serve(self, name: str, workers: int = 2, *, embedded: bool = True,
              **extra_env: str) -> Process:
        assert self.db is not None
        port = free_port()
        env = gridops_env(self.db, GRIDOPS_WORKER__EMBEDDED=str(embedded).lower(), **extra_env)
        return self.start(name, [str(BIN / "gridops"), "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", str(workers)], env, port)

    def worker(self, name: str, **extra_env: str) -> Process:
        assert self.db is not None
        return self.start(name, [str(BIN / "gridops"), "worker"],
                          gridops_env(self.db, **extra_env))

    def receiver(self, name: str, port: int | None = None,
                 delay: float = 0.0) -> tuple[Process, Path]:
        """bench/_receiver.py on `port` (a free one by default); returns it and its record."""
        port = port or free_port()
        out = LOGS / f"{name}.jsonl"
        if not any(p.name == name for p in self.processes):
            out.unlink(missing_ok=True)  # a fresh record per run, kept across restarts
        process = self.start(name, [str(BIN / "python"), str(ROOT / "bench" / "_receiver.py"),
                                    "--port", str(port), "--out", str(out),
                                    "--delay", str(delay)],
                             dict(os.environ), port)
        return process, out

    def callbacks(self, receiver: Process) -> dict[str, str]:
        """Environment that points gridops' outbound deliveries at the receiver."""
        return {"GRIDOPS_HOTLINE__CALLBACK_URL": f"{receiver.base}/hotline",
                "GRIDOPS_OUTBOX__NOTIFICATION_URL": f"{receiver.base}/notify"}

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


async def wait_ready(process: Process, path: str = "/readyz", within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    last = "no answer"
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited; see {process.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(process.base + path)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            await asyncio.sleep(0.25)
    raise TimeoutError(f"{process.name} not ready after {within} s ({last}); "
                       f"see {process.log_path}")


# --- tokens, places, texts -------------------------------------------------------------------

def tokens() -> dict[str, str]:
    """One development token per role (the server runs with the development secret)."""
    from gridops.auth.tokens import mint
    from gridops.settings import AuthSettings

    now = datetime.now(UTC)
    scopes: dict[str, dict[str, str]] = {"dispatcher": {}, "leader": {}, "auditor": {},
                                         "admin": {}, "unit_operator": {"unit": "UMLE"}}
    return {role: mint(AuthSettings(), subject=f"bench-{role}", role=role, now=now,
                       ttl_minutes=24 * 60, **scope) for role, scope in scopes.items()}


def unit_token(unit: str, street: str | None = None) -> str:
    from gridops.auth.tokens import mint
    from gridops.settings import AuthSettings

    scope = {"unit": unit} if street is None else {"unit": unit, "street": street}
    return mint(AuthSettings(), subject=f"bench-op-{unit}-{street or ''}", role="unit_operator",
                now=datetime.now(UTC), ttl_minutes=24 * 60, **scope)


def grid_worker_token(grid_code: str) -> str:
    from gridops.auth.tokens import mint
    from gridops.settings import AuthSettings

    return mint(AuthSettings(), subject=f"gw-{grid_code}-a", role="grid_worker",
                now=datetime.now(UTC), ttl_minutes=24 * 60, grid=grid_code)


@dataclass(frozen=True)
class GridPoint:
    grid_code: str
    lat: float
    lon: float


def grid_points() -> list[GridPoint]:
    """A point inside each demo grid (shapely's representative point lies inside the polygon)."""
    from shapely.geometry import shape

    features = json.loads((DEMO_PACK / "grids.geojson").read_text(encoding="utf-8"))["features"]
    points = []
    for feature in features:
        point = shape(feature["geometry"]).representative_point()
        points.append(GridPoint(feature["properties"]["code"], round(point.y, 6),
                                round(point.x, 6)))
    return points


def corpus_texts() -> list[str]:
    return [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@dataclass
class Bodies:
    """Realistic intake bodies: corpus texts at points inside demo grids, each text made unique
    (a serial number) so that a drill can find every acknowledged creation again."""

    rng: random.Random = field(default_factory=lambda: random.Random(7))
    texts: list[str] = field(default_factory=corpus_texts)
    points: list[GridPoint] = field(default_factory=grid_points)
    serial: int = 0
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def next(self) -> tuple[dict[str, object], GridPoint, str]:
        self.serial += 1
        point = self.rng.choice(self.points)
        tag = f"{self.run}-{self.serial}"
        body = {"text": f"{self.rng.choice(self.texts)}（编号{tag}）",
                "location": {"lat": point.lat, "lon": point.lon}}
        return body, point, tag


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)
