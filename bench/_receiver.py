"""A stand-in for the 12345 platform's callback endpoint and the notification target: records
every delivery (one JSON line: path, event_id, sequence, payload, time) and answers 200.

    .venv/bin/python bench/_receiver.py --port 8200 --out var/bench/received.jsonl

The drills start it as a process of its own, so that it can be stopped ("the platform is down")
and started again on the same port. The hotline signature is checked; a bad one is answered 401
and counted apart (it must never happen).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import uvicorn

from gridops.hotline.signing import verify
from gridops.settings import HotlineSettings

SECRET = HotlineSettings().secret.get_secret_value()


def make_app(out: Path, delay: float = 0.0) -> Any:
    sink = out.open("a", encoding="utf-8")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":  # the drills' readiness poll; not a delivery
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if delay:  # a slow platform: deliveries are in flight for a while
            await asyncio.sleep(delay)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        signed = scope["path"] != "/hotline" or verify(
            [SECRET], headers.get("x-hotline-timestamp", ""), body,
            headers.get("x-hotline-signature", ""))
        document = json.loads(body) if body else {}
        sink.write(json.dumps({"path": scope["path"], "at": time.time(), "signed": signed,
                               "event_id": document.get("event_id"),
                               "sequence": document.get("sequence"), "payload": document},
                              ensure_ascii=False) + "\n")
        sink.flush()
        status = 200 if signed else 401
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    return app


def read(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    args = parser.parse_args()
    uvicorn.run(make_app(args.out, args.delay), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
