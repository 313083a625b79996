"""The printable page in a real headless Chromium (Debian's `chromium` package): it renders,
logs no console error, and the screenshot shows something."""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.review import builders as b
from tests.review.builders import MON, THU, WED, local

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs /usr/bin/chromium (apt-get install -y chromium)"),
]


def shoot(page: Path, png: Path, profile: Path) -> str:
    """Screenshot `page`; returns Chromium's log (console messages are logged as CONSOLE)."""
    run = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--hide-scrollbars", f"--screenshot={png}", "--window-size=1400,2000",
         page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout + run.stderr


def console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line]


def png_facts(png: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decoded scanlines)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.fixture
def chromium_dir(tmp_path: Path) -> Path:
    (tmp_path / "profile").mkdir()
    return tmp_path


def test_the_console_check_would_see_an_error(chromium_dir: Path) -> None:
    page = chromium_dir / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom-4711')</script>",
                    encoding="utf-8")
    log = shoot(page, chromium_dir / "bad.png", chromium_dir / "profile")
    assert any("boom-4711" in line for line in console_errors(log))


async def test_review_page_renders_in_chromium(client: httpx.AsyncClient,
                                               auth: Callable[..., dict[str, str]],
                                               session: AsyncSession,
                                               chromium_dir: Path) -> None:
    await b.district(session)
    for i, (unit, grid) in enumerate([("UMLE", b.G1), ("HURD", b.G3), ("STR", b.G2),
                                      ("UMLE", b.G2), ("WTR", b.G1)]):
        inc = await b.incident(session, unit, grid, local(MON, 9 + i), title=f"工单{i}<b>")
        await b.clock(session, inc, "sign", local(MON, 11 + i), outcome="met",
                      stopped=local(MON, 10 + i))
        await b.clock(session, inc, "resolve", local(THU, 10), started=local(MON, 9),
                      outcome="met" if i % 2 else None,
                      stopped=local(WED, 9) if i % 2 else None)
    response = await client.get("/api/v1/reviews/weekly.html", params={"week": b.WEEK},
                                headers=auth("leader"))
    assert response.status_code == 200
    page = chromium_dir / "review.html"
    page.write_text(response.text, encoding="utf-8")
    png = chromium_dir / "review.png"
    log = shoot(page, png, chromium_dir / "profile")
    assert console_errors(log) == []
    width, height, distinct = png_facts(png)
    assert (width, height) == (1400, 2000)
    assert png.stat().st_size > 30_000
    assert distinct > 50  # text, bars and map, not a blank page
    assert "工单0&lt;b&gt;" in response.text  # stored text shown escaped
