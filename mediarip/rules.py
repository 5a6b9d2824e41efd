"""What a field's type cannot say, declared on the field itself.

The API's JSON schema (:mod:`mediarip.api.schema`) and the readers of query strings take a
field's pattern, bounds and description from here, so a rule is written once, next to the
field it governs::

    limit: int = attrs.field(default=100, metadata=rules(minimum=1, maximum=1000))
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRIVATE", "rules"]

#: Field metadata of a field that never leaves the server (left out of answers and events).
PRIVATE = {"private": True}


def rules(**schema: Any) -> dict[str, Any]:
    """Field metadata holding JSON Schema keywords: ``pattern``, ``minimum``, ``description``..."""
    return {"json_schema": schema}
