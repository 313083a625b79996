"""Fixtures of the router's tests."""

from __future__ import annotations

import pytest

from gridops.routing.rules import CompiledRules
from gridops.routing.table import demo_rules_path, parse_table


@pytest.fixture(scope="session")
def demo() -> CompiledRules:
    """The demo table compiled once, as a running service holds it (model and fallback on).
    Tests that change a compiled table's state compile their own."""
    return CompiledRules(1, parse_table(demo_rules_path()).items)
