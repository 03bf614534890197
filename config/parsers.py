"""The API's request body parser (``DEFAULT_PARSER_CLASSES``).

Kept apart from ``config.api``: DRF resolves its parser setting while ``rest_framework.views``
is being imported, so the module that setting names must not import DRF's views itself
(``config.api`` does, through ``config.errors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No legal body nests deeper than a handful of levels; thousands of brackets only exist to
# exhaust the parser's recursion (a RecursionError, i.e. a 500, before this limit).
MAX_JSON_DEPTH = 20
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _check_tree(value: Any) -> None:
    """Depth and lone surrogates, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ParseError("JSON strings must be valid Unicode (a lone surrogate was sent).")
        elif isinstance(item, Mapping | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
            children = [c for kv in item.items() for c in kv] if isinstance(item, Mapping) else item
            stack.extend((child, depth + 1) for child in children)


class SafeJSONParser(JSONParser):
    """JSON, refused with 400 (never a 500) when nested too deep or holding lone surrogates,
    which PostgreSQL cannot store and which no real client sends."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except json.JSONDecodeError as exc:  # pragma: no cover - DRF wraps these already
            raise ParseError(f"JSON parse error - {exc}") from None
        _check_tree(data)
        return data
