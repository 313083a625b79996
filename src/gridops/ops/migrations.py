"""Where the Alembic scripts live and which revision is head."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from gridops.settings import Settings

_REPO_ROOT = Path(__file__).resolve().parents[3]


def migrations_dir(settings: Settings) -> Path:
    if settings.migrations_dir:
        return settings.migrations_dir
    for candidate in (Path.cwd() / "migrations", _REPO_ROOT / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations/ not found; set GRIDOPS_MIGRATIONS_DIR")


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(settings)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["settings"] = settings
    return cfg


def head_revisions(settings: Settings) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())
