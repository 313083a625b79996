"""`gridops review` (the weekly review to a file) and `gridops simulate` (a realistic history)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gridops.settings import Settings

app = typer.Typer(help="The weekly review (一周一点评) and the history simulator.")
FORMATS = ("md", "csv", "html", "json")


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), transient=False)


async def _review(settings: Settings, week: str | None, scope: str, fmt: str,
                  progress: Progress) -> str:
    from gridops.auth.actor import SYSTEM
    from gridops.clock.calendar import build_calendar
    from gridops.db import create_engine, create_sessionmaker
    from gridops.review import html, render, service
    from gridops.review.schemas import ReviewOut
    from gridops.review.week import last_complete, parse_week

    now = datetime.now(UTC)
    wk = parse_week(week, settings.timezone) if week else last_complete(now, settings.timezone)
    cal = build_calendar(settings.sla.holiday_overrides_path, timezone=settings.timezone)
    task = progress.add_task(f"一周一点评 {wk.label}", total=3)
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            review = await service.weekly(session, wk, scope, actor=SYSTEM,  # type: ignore[arg-type]
                                          now=now, cal=cal, settings=settings)
            progress.advance(task)
            if fmt == "html":
                text = await html.render(session, review, actor=SYSTEM, now=now,
                                         settings=settings)
            elif fmt == "csv":
                text = render.to_csv(review)
            elif fmt == "md":
                text = render.to_markdown(review)
            else:
                text = ReviewOut.of(review, settings.review.weights).model_dump_json(indent=2)
            progress.advance(task)
    finally:
        await engine.dispose()
    progress.advance(task)
    return text


def review(week: str = typer.Option(None, help="ISO week such as 2026-W47 (default: the last "
                                    "complete week)"),
           format: str = typer.Option("md", "--format", "-f", help="md | csv | html | json"),
           scope: str = typer.Option("unit", help="unit | street | community | grid"),
           out: Path = typer.Option(None, "--out", "-o", help="file to write (default stdout)"),
           ) -> None:
    """Write the weekly review (一周一点评) as Markdown, CSV, a printable HTML page or JSON."""
    from gridops.errors import GridopsError

    if format not in FORMATS or scope not in ("unit", "street", "community", "grid"):
        typer.echo(f"--format is one of {', '.join(FORMATS)}; --scope unit|street|community|"
                   "grid", err=True)
        raise typer.Exit(2)
    settings = Settings()
    try:
        with _progress() as progress:
            text = asyncio.run(_review(settings, week, scope, format, progress))
    except GridopsError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from None
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out} ({len(text.encode())} bytes)", err=True)


async def _simulate(settings: Settings, weeks: int, per_day: int, seed: int,
                    until: datetime, corpus: Path, progress: Progress) -> dict[str, int]:
    from gridops.cli.demo import DEMO, load_demo
    from gridops.clock.calendar import build_calendar
    from gridops.db import create_engine, create_sessionmaker
    from gridops.review import simulate
    from gridops.review.week import containing

    await load_demo(settings, pack=DEMO / "pack", rules=DEMO / "rules")
    cal = build_calendar(settings.sla.holiday_overrides_path, timezone=settings.timezone)
    start = containing(until, settings.timezone).previous(settings.timezone, weeks).start
    texts = simulate.load_texts(corpus)
    expected = sum(per_day if cal.is_workday(cal.local(start).date() + timedelta(days=d))
                   else max(1, per_day * 2 // 5) for d in range((until - start).days + 1))
    task = progress.add_task(f"模拟 {weeks} 周 + 本周, 每工作日 {per_day} 件", total=expected)
    engine = create_engine(settings.database)
    try:
        return await simulate.run(create_sessionmaker(engine), settings, cal, start=start,
                                  horizon=until, per_day=per_day, seed=seed, texts=texts,
                                  progress=lambda n: progress.advance(task, n))
    finally:
        progress.update(task, completed=expected)
        await engine.dispose()


def simulate(weeks: int = typer.Option(8, min=1, max=104, help="complete weeks before this one"),
             per_day: int = typer.Option(40, min=1, max=5000,
                                         help="incidents per working day (rest days: 40%)"),
             seed: int = typer.Option(2026, help="random seed (same seed, same history)"),
             until: str = typer.Option(None, help="simulated end, ISO 8601 (default: now)"),
             corpus: Path = typer.Option(None, help="complaint texts (JSON lines; default: the "
                                         "routing corpus's tuning half)")) -> None:
    """Fill the configured database with a realistic history through the real services:
    intake and routing, sign-for, returns, extensions, suspensions, resolve, checks, callbacks,
    rework, at realistic delays on the working clock."""
    from gridops.review import simulate as sim

    settings = Settings()
    end = datetime.fromisoformat(until) if until else datetime.now(UTC)
    if end.tzinfo is None:
        raise typer.BadParameter("--until needs a time zone, e.g. 2026-11-24T10:00+08:00")
    with _progress() as progress:
        done = asyncio.run(_simulate(settings, weeks, per_day, seed, end.astimezone(UTC),
                                     corpus or sim.CORPUS, progress))
    typer.echo(", ".join(f"{k} {v}" for k, v in sorted(done.items())), err=True)


app.command("review")(review)
app.command("simulate")(simulate)
