"""The item-standard rule table (事项处置标准): reading, validating, and the `ItemStandard` row.

A table is a directory (`ruleset.yaml` header plus `items-*.yaml` parts, concatenated in file-name
order) or one YAML/JSON document holding the header keys and `items`. Validation collects every
problem before refusing, so an author fixes a table in one round (the contract:
docs/routing.md § The table).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gridops.routing.validate import validate_document


class TableError(ValueError):
    """A rule table that cannot be used; `problems` lists every reason, not only the first."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{len(self.problems)} problem(s) in rule table: {shown}{more}")


@dataclass(frozen=True, slots=True)
class ItemStandard:
    code: str
    name: str
    kind: str  # asset | event
    major: str
    minor: str
    unit: str
    co_units: tuple[str, ...]
    level: str
    filing: str
    closing: str
    urgency: str
    sign_hours: float
    resolve_hours: float
    urgent_sign_hours: float
    urgent_resolve_hours: float
    photo_required: bool
    phrases: tuple[str, ...]
    strong: tuple[str, ...] = ()
    combos: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "kind": self.kind, "major": self.major,
            "minor": self.minor, "unit": self.unit, "co_units": list(self.co_units),
            "level": self.level, "filing": self.filing, "closing": self.closing,
            "urgency": self.urgency, "sign_hours": self.sign_hours,
            "resolve_hours": self.resolve_hours, "urgent_sign_hours": self.urgent_sign_hours,
            "urgent_resolve_hours": self.urgent_resolve_hours,
            "photo_required": self.photo_required, "phrases": list(self.phrases),
            "strong": list(self.strong), "combos": [list(c) for c in self.combos],
            "exclude": list(self.exclude),
        }


@dataclass(frozen=True, slots=True)
class RuleTable:
    label: str
    declared_count: int
    items: tuple[ItemStandard, ...]

    def document(self) -> dict[str, Any]:
        """The canonical document: what is stored, checksummed and served back."""
        return {"label": self.label, "declared_count": self.declared_count,
                "items": [item.as_dict() for item in self.items]}

    @property
    def checksum(self) -> str:
        canonical = json.dumps(self.document(), ensure_ascii=False, sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def known_units() -> frozenset[str]:
    """Unit codes of the demo pack (`demo/units.csv`, a copy of departments.csv)."""
    text = resources.files("gridops").joinpath("demo/units.csv").read_text(encoding="utf-8")
    return frozenset(row["code"].strip() for row in csv.DictReader(io.StringIO(text)))


def demo_rules_path() -> Path:
    return Path(str(resources.files("gridops").joinpath("demo/rules")))


def read_source(source: Path | str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """One document from a directory of parts, a file, raw YAML/JSON bytes, or a mapping."""
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, bytes):
        return _parse_text(source.decode("utf-8-sig"), "upload")
    path = Path(source)
    if path.is_dir():
        return _read_dir(path)
    if not path.exists():
        raise TableError([f"{path}: no such file or directory"])
    return _parse_text(path.read_text(encoding="utf-8-sig"), path.name)


def _parse_text(text: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)  # YAML 1.1 is a superset of the JSON we accept
    except yaml.YAMLError as exc:
        raise TableError([f"{name}: not valid YAML/JSON: {exc}"]) from exc
    if not isinstance(data, dict):
        raise TableError([f"{name}: the document must be a mapping with `items`"])
    return data


def _read_dir(path: Path) -> dict[str, Any]:
    header_path = path / "ruleset.yaml"
    problems: list[str] = []
    document: dict[str, Any] = {}
    if header_path.exists():
        document = _parse_text(header_path.read_text(encoding="utf-8"), header_path.name)
    else:
        problems.append(f"{path}: ruleset.yaml header missing")
    items: list[Any] = list(document.pop("items", None) or [])
    parts = sorted(path.glob("items-*.yaml"))
    if not parts:
        problems.append(f"{path}: no items-*.yaml part files")
    for part in parts:
        try:
            data = _parse_text(part.read_text(encoding="utf-8"), part.name)
        except TableError as exc:
            problems.extend(exc.problems)
            continue
        part_items = data.get("items")
        if not isinstance(part_items, list):
            problems.append(f"{part.name}: must hold one key `items:` with a list")
            continue
        items.extend(part_items)
    if problems:
        raise TableError(problems)
    document["items"] = items
    return document


def parse_table(source: Path | str | bytes | Mapping[str, Any],
                units: Iterable[str] | None = None) -> RuleTable:
    """Read and validate a table; raises `TableError` listing all problems."""
    document = read_source(source)
    unit_set = frozenset(units) if units is not None else known_units()
    problems = validate_document(document, unit_set)
    if problems:
        raise TableError(problems)
    items = tuple(_item(raw) for raw in document["items"])
    return RuleTable(label=str(document["label"]), declared_count=int(document["declared_count"]),
                     items=items)


def stored_table(document: Mapping[str, Any]) -> RuleTable:
    """A table already validated when it was loaded (a stored version): parse, do not re-check."""
    return RuleTable(label=str(document["label"]), declared_count=int(document["declared_count"]),
                     items=tuple(_item(raw) for raw in document["items"]))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _item(raw: Mapping[str, Any]) -> ItemStandard:
    return ItemStandard(
        code=raw["code"], name=str(raw["name"]), kind=raw["kind"], major=str(raw["major"]),
        minor=str(raw.get("minor") or ""), unit=raw["unit"], co_units=_strings(raw.get("co_units")),
        level=raw["level"], filing=str(raw.get("filing") or ""),
        closing=str(raw.get("closing") or ""), urgency=raw["urgency"],
        sign_hours=float(raw["sign_hours"]), resolve_hours=float(raw["resolve_hours"]),
        urgent_sign_hours=float(raw["urgent_sign_hours"]),
        urgent_resolve_hours=float(raw["urgent_resolve_hours"]),
        photo_required=bool(raw["photo_required"]), phrases=_strings(raw.get("phrases")),
        strong=_strings(raw.get("strong")),
        combos=tuple(_strings(c) for c in raw.get("combos") or ()),
        exclude=_strings(raw.get("exclude")),
    )
