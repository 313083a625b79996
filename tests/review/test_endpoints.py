from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.review import builders as b
from tests.review.builders import MON, START, THU, local

URL = "/api/v1/reviews/weekly"
Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def week(session: AsyncSession) -> None:
    await b.district(session)
    await b.incident(session, "UMLE", b.G1, local(MON, 9))
    await b.incident(session, "HURD", b.G3, local(MON, 10))
    await b.incident(session, "STR", b.G1, local(MON, 11))
    late = await b.incident(session, "UMLE", b.G1, START, title="<script>alert(1)</script>占道")
    await b.clock(session, late, "resolve", local(THU, 10), started=local(MON, 9))
    other = await b.incident(session, "HURD", b.G3, START, title="路面塌陷")
    await b.clock(session, other, "resolve", local(THU, 10), started=local(MON, 9))


async def test_anonymous_is_401_and_grid_worker_403(client: httpx.AsyncClient, auth: Auth,
                                                    week: None) -> None:
    response = await client.get(URL, params={"week": b.WEEK})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    response = await client.get(URL, params={"week": b.WEEK},
                                headers=auth("grid_worker", grid=b.G1))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")


@pytest.mark.parametrize("role", ["leader", "auditor", "admin", "dispatcher"])
async def test_district_roles_get_every_card(client: httpx.AsyncClient, auth: Auth, week: None,
                                             role: str) -> None:
    response = await client.get(URL, params={"week": b.WEEK}, headers=auth(role))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["week"] == "2026-W47"
    assert body["start"].startswith("2026-11-15T16:00:00")
    assert body["district"]["received"] == 5
    assert {c["key"]: c["received"] for c in body["cards"]} == {
        "UMLE": 2, "HURD": 2, f"STR/{b.S1}": 1}
    assert body["district"]["overdue_open"] == 2
    assert len(body["overdue"]) == 2


async def test_street_dispatcher_sees_their_street(client: httpx.AsyncClient, auth: Auth,
                                                   week: None) -> None:
    response = await client.get(URL, params={"week": b.WEEK, "scope": "grid"},
                                headers=auth("dispatcher", street=b.S1))
    body = response.json()
    assert body["district"]["received"] == 3
    assert {c["key"] for c in body["cards"]} == {b.G1}
    assert [o["title"] for o in body["overdue"]] == ["<script>alert(1)</script>占道"]


@pytest.mark.parametrize(("scope", "key"), [({"unit": "UMLE"}, "UMLE"),
                                            ({"unit": "STR", "street": b.S1}, f"STR/{b.S1}")])
async def test_unit_operator_sees_only_their_card(client: httpx.AsyncClient, auth: Auth,
                                                  week: None, scope: dict[str, str],
                                                  key: str) -> None:
    response = await client.get(URL, params={"week": b.WEEK},
                                headers=auth("unit_operator", **scope))
    body = response.json()
    assert [c["key"] for c in body["cards"]] == [key]
    assert body["district"]["key"] == key
    assert body["red"] == body["black"] == []
    assert body["hotspots"]["top_items"] == []
    assert all(o["unit"] == key for o in body["overdue"])


async def test_csv_export(client: httpx.AsyncClient, auth: Auth, week: None) -> None:
    response = await client.get(URL, params={"week": b.WEEK, "format": "csv", "scope": "street"},
                                headers=auth("leader"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "review-2026-W47.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [(r["scope"], r["key"], r["received"]) for r in rows] == [
        ("district", "DISTRICT", "5"), ("street", b.S1, "3"), ("street", b.S2, "2")]


async def test_markdown_export(client: httpx.AsyncClient, auth: Auth, week: None) -> None:
    response = await client.get(URL, params={"week": b.WEEK, "format": "md"},
                                headers=auth("leader"))
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.text.startswith("# 一周一点评 2026-W47")
    assert "2026-11-16（周一）至 2026-11-22（周日）" in response.text
    assert "| 路面塌陷 |" in response.text


@pytest.mark.parametrize("path", ["/api/v1/reviews/weekly.html", URL + "?format=html"])
async def test_html_page_escapes_stored_text(client: httpx.AsyncClient, auth: Auth, week: None,
                                             path: str) -> None:
    sep = "&" if "?" in path else "?"
    response = await client.get(f"{path}{sep}week={b.WEEK}", headers=auth("leader"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;占道" in page
    assert page.count("<svg") == 3  # bars, trend, grid map
    assert page.count("<path d=") == 3  # one per grid
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize("week_", ["2026-47", "2026-W60", "2027-W10"])
async def test_bad_or_future_week_is_422(client: httpx.AsyncClient, auth: Auth, week: None,
                                         week_: str) -> None:
    response = await client.get(URL, params={"week": week_}, headers=auth("leader"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_default_week_is_the_last_complete_one(client: httpx.AsyncClient, auth: Auth,
                                                     week: None) -> None:
    response = await client.get(URL, headers=auth("leader"))
    assert response.json()["week"] == "2026-W47"
