from __future__ import annotations

import json
import logging

from gridops.ops.logging import JsonFormatter, request_id_var, scrub


def test_scrub_masks_phones_and_tokens() -> None:
    line = "caller 13812345678 sent Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.sig"
    cleaned = scrub(line)
    assert "13812345678" not in cleaned
    assert "138****5678" in cleaned
    assert "eyJhbGciOi" not in cleaned


def test_json_log_line_carries_request_id_and_never_a_phone() -> None:
    token = request_id_var.set("req-1")
    try:
        record = logging.LogRecord("gridops.test", logging.INFO, __file__, 1,
                                   "caller %s", ("13900001111",), None)
        record.route = "/x"
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-1"
    assert entry["route"] == "/x"
    assert entry["msg"] == "caller 139****1111"
