"""JSON bodies read strictly: Python's parser takes ``NaN``, ``Infinity`` and lone UTF-16 surrogates
(``"\\ud800"``), none of which is JSON a client may rely on, and each of which failed later, deep in a
handler or on the way out, as a 500. Here they are a 422 naming the problem, before any handler runs;
so are numbers beyond a float's range and bodies nested past the parser's recursion limit."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import Request

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number; send a finite number", name, 0)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: Python would make it infinity
        raise json.JSONDecodeError(f"{text} is out of range for a number", text, 0)
    return value


def _check_strings(value: Any, doc: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise json.JSONDecodeError("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)", doc, 0)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def strict_loads(body: bytes) -> Any:
    """Parse ``body`` as RFC 8259 JSON in UTF-8; anything else raises ``json.JSONDecodeError``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise json.JSONDecodeError("the body is nested too deeply", "", 0) from None
    _check_strings(value, text)
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json
