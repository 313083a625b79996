"""Every knob of gridops, from ``GRIDOPS_*`` environment variables (``__`` nests) and ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridops.routing.scoring import TRIAGE_THRESHOLD

DEV_JWT_SECRET = "gridops-development-secret-do-not-use-in-production"
DEV_HOTLINE_SECRET = "gridops-development-hotline-secret"


class DatabaseSettings(BaseModel):
    url: SecretStr = SecretStr("sqlite+aiosqlite:///./var/gridops.db")
    # Twenty kept, none beyond: an overflow connection is closed when handed back, so a load
    # hovering near the pool's size opened (and prepared every statement on) a new connection
    # per request or so. The ceiling per process is the 10 + 10 it was.
    pool_size: int = 20
    max_overflow: int = 0
    # Seconds a request waits for a pooled connection before it is answered 503 (PostgreSQL).
    pool_timeout: float = Field(30.0, gt=0)
    echo: bool = False


class AuthSettings(BaseModel):
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    # When set, tokens are verified against the identity provider's keys instead of the secret.
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    token_ttl_minutes: int = 12 * 60
    # How long an API process trusts a token it verified before checking it again (0: every
    # call), and how long it keeps the identity provider's key set: a key withdrawn there, or a
    # token signed with it, is refused within the sum of the two.
    token_cache_seconds: float = Field(60.0, ge=0)
    jwks_cache_seconds: float = Field(300.0, gt=0)


class RoutingSettings(BaseModel):
    triage_threshold: float = Field(TRIAGE_THRESHOLD, ge=0, le=1)
    rules_path: Path | None = None  # default: the demo pack's rule table


class SlaSettings(BaseModel):
    due_soon_share: float = Field(0.75, gt=0, lt=1)
    # Working hours past the resolve deadline when 督办 escalates: unit, street, district.
    escalation_hours: tuple[float, float, float] = (0.0, 8.0, 24.0)
    holiday_overrides_path: Path | None = None
    sweep_interval_seconds: float = 30.0
    sweep_batch: int = 1000
    reopen_window_days: int = 7


class DuplicateSettings(BaseModel):
    radius_m: float = 100.0
    window_hours: float = 72.0


class StorageSettings(BaseModel):
    path: Path = Path("var/uploads")
    max_bytes: int = 10 * 1024 * 1024
    allowed_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")


class HotlineSettings(BaseModel):
    secret: SecretStr = SecretStr(DEV_HOTLINE_SECRET)
    previous_secret: SecretStr | None = None
    max_skew_seconds: int = 300
    max_body_bytes: int = 1024 * 1024
    callback_url: str | None = None
    callback_timeout_seconds: float = 5.0


class OutboxSettings(BaseModel):
    # With the default backoff (2 s doubling, capped at 10 min) 20 attempts ride out about
    # two hours of receiver outage before a message is parked for an admin.
    max_attempts: int = 20
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    batch: int = 100
    interval_seconds: float = 2.0
    # A claimed message is invisible to other workers this long; a crashed worker's claim expires.
    lease_seconds: float = 60.0
    # Where escalation notifications go; when unset they are logged and marked delivered.
    notification_url: str | None = None


class WorkerSettings(BaseModel):
    # Sweeper and outbox drain inside the API process; off when `gridops worker` runs apart.
    embedded: bool = True


class ReviewSettings(BaseModel):
    weights: dict[str, float] = {
        "close_rate": 30.0,
        "on_time_close_rate": 20.0,
        "no_rework": 20.0,
        "no_overdue": 20.0,
        "no_extension": 10.0,
    }
    repeat_window_hours: float = 72.0


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GRIDOPS_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    environment: Literal["dev", "test", "prod"] = "dev"
    timezone: str = "Asia/Shanghai"
    problem_base_uri: str = "https://gridops.example/problems/"
    log_level: str = "INFO"
    log_json: bool = True
    migrations_dir: Path | None = None
    database: DatabaseSettings = DatabaseSettings()
    auth: AuthSettings = AuthSettings()
    routing: RoutingSettings = RoutingSettings()
    sla: SlaSettings = SlaSettings()
    duplicates: DuplicateSettings = DuplicateSettings()
    storage: StorageSettings = StorageSettings()
    hotline: HotlineSettings = HotlineSettings()
    outbox: OutboxSettings = OutboxSettings()
    worker: WorkerSettings = WorkerSettings()
    review: ReviewSettings = ReviewSettings()
    server: ServerSettings = ServerSettings()

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> Settings:
        if self.environment == "prod":
            if not self.auth.jwks_url and self.auth.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                raise ValueError("set GRIDOPS_AUTH__JWT_SECRET or GRIDOPS_AUTH__JWKS_URL in prod")
            if self.hotline.secret.get_secret_value() == DEV_HOTLINE_SECRET:
                raise ValueError("set GRIDOPS_HOTLINE__SECRET in prod")
        return self
