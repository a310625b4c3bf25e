"""Values across the Lua boundary (lua-contract.md §2, §3).

Into Lua (§2): a JSON-like Python tree becomes nested tables; ``None`` is "absent" (the key is not
set), arrays get keys 1..n, numbers become Lua numbers (doubles in Lua 5.1).

Out of Lua (§3): a Lua value becomes a JSON-like Python tree by Go's gopher-json rules, because
upstream turns a script's result into JSON and back: an empty table is ``None`` (JSON ``null``);
a table whose first ``next()`` key is a number must be the array 1..n; a table whose first key is
a string must have only string keys; functions and other userdata cannot be encoded. Integral
numbers come back as ``int`` (Go prints ``50``, not ``50.0``).

One deliberate difference: upstream rejects any table met twice (even ``t.a = x; t.b = x``); we
reject only real cycles (the contract allows either). lupa gives no table identity (each access
makes a new wrapper), so a cycle is recognised as nesting deeper than :data:`MAX_DEPTH`, a depth no
Kubernetes object reaches; shared sub-tables are encoded once per use, bounded by the budget.

Lua strings are bytes (the runtime runs with ``encoding=None``); they are decoded as UTF-8 with
invalid bytes replaced by U+FFFD, as Go does.

Every conversion out of Lua is charged against an :class:`OutputBudget` so that a script returning
a gigantic table fails with a message instead of holding the caller for seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lupa import lua51

__all__ = ["ConversionError", "OutputBudget", "lua_to_tree", "tree_to_lua"]

ERR_NESTED = "cannot encode recursively nested tables to JSON"
ERR_SPARSE = "cannot encode sparse array"
ERR_KEYS = "cannot encode mixed or invalid key types"
#: What each value costs the budget besides its string bytes: a rough JSON size, so that a table
#: of a million empty strings is refused as readily as one huge string.
_NODE_COST = 8
#: Deeper nesting is taken for a cycle (the apiserver itself refuses JSON nested beyond ~10000,
#: but real specs stay far below 100).
MAX_DEPTH = 100


class ConversionError(ValueError):
    """A Lua value that has no JSON form (the message is the contract's wording)."""


class OutputBudget:
    """Bytes (≈ JSON size) a conversion may still produce; raises once exhausted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def charge(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ConversionError(f"output larger than {self.limit} bytes")


def _number(value: float | int) -> float | int:
    f = float(value)
    if math.isnan(f) or math.isinf(f):
        raise ConversionError(f"unsupported number {value!r} (NaN and infinities have no JSON form)")
    return int(f) if f.is_integer() and abs(f) < 1e21 else f


def _key_kind(key: Any) -> str:
    if isinstance(key, bytes):
        return "string"
    if isinstance(key, int | float) and not isinstance(key, bool):
        return "number"
    return "other"


def _table(table: Any, budget: OutputBudget, depth: int) -> Any:
    """One pass over ``next()`` order: the first key decides object or array (module docstring)."""
    if depth > MAX_DEPTH:
        raise ConversionError(f"{ERR_NESTED} (deeper than {MAX_DEPTH})")
    mode = None
    obj: dict[str, Any] = {}
    arr: list[Any] = []
    for key, value in table.items():
        kind = _key_kind(key)
        mode = mode or kind
        if kind != mode or kind == "other":
            raise ConversionError(ERR_KEYS)
        if kind == "string":
            budget.charge(len(key) + _NODE_COST)
            obj[key.decode("utf-8", "replace")] = lua_to_tree(value, budget, depth + 1)
        else:
            if key != len(arr) + 1:
                raise ConversionError(ERR_SPARSE)
            budget.charge(_NODE_COST)
            arr.append(lua_to_tree(value, budget, depth + 1))
    if mode is None:
        return None
    return obj if mode == "string" else arr


def lua_to_tree(value: Any, budget: OutputBudget, depth: int = 0) -> Any:
    """A Lua value as a JSON-like tree (module docstring); raises :class:`ConversionError`."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, bytes):
        budget.charge(len(value) + _NODE_COST)
        return value.decode("utf-8", "replace")
    kind = lua51.lua_type(value)
    if kind == "table":
        return _table(value, budget, depth)
    raise ConversionError(f"cannot encode {kind or type(value).__name__} to JSON")


def tree_to_lua(new_table: Callable[[], Any], value: Any) -> Any:
    """A JSON-like tree as Lua values; ``new_table`` is the runtime's ``table`` factory."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict):
        table = new_table()
        for key, item in value.items():
            if item is not None:
                table[str(key).encode("utf-8")] = tree_to_lua(new_table, item)
        return table
    if isinstance(value, list | tuple):
        table = new_table()
        for index, item in enumerate(value, start=1):
            if item is not None:
                table[index] = tree_to_lua(new_table, item)
        return table
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"cannot pass {type(value).__name__} to Lua")
