"""GeoReport v2 documents: the same data as JSON or XML, and the spec's error lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import JSONResponse, Response

# Element names of list members in XML, by the list's root element.
_MEMBER = {"services": "service", "service_requests": "request", "errors": "error",
           "service_definition": "attribute"}


def _append(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _append(child, key, inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _append(child, _MEMBER.get(name, "value"), inner)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def to_xml(root: str, items: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    element = ET.Element(root)
    if isinstance(items, Mapping):
        for key, value in items.items():
            _append(element, key, value)
    else:
        for item in items:
            _append(element, _MEMBER[root], item)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def render(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body), status_code=status,
                        media_type="text/xml; charset=utf-8")
    return JSONResponse(body, status_code=status)


def errors(fmt: str, status: int, *descriptions: str) -> Response:
    body = [{"code": status, "description": d} for d in descriptions]
    return render(fmt, "errors", body, status)
