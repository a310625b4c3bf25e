"""go-spew's ``%#v`` formatter, for the Go value model of :mod:`.decode`.

Kubernetes hashes ``spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true,
SpewKeys: true}.Fprintf(h, "%#v", template)``. ``Fprintf`` uses spew's *formatter* (format.go), not
its dumper, so ``Indent`` plays no part and the text is one line. This is a transcription of
``formatState.format``/``formatPtr`` of go-spew d8f796af33cc for the kinds the layout contains:

- a value prints ``(TypeName)`` before itself unless ``ignoreNextType`` is set — which it is for
  slice elements, map keys and map values, and for a pointee (its pointer printed ``(*T)``);
- structs ``{Name:value Name:value}``, slices ``[a b]``, maps ``map[k:v]`` with keys sorted as Go
  strings (byte order), nil slices/maps/pointers ``<nil>``, strings raw (no quotes), ints decimal;
- ``formatPtr`` remembers each pointer's address with the depth it was printed at, forgets those at
  the current depth or deeper on every call, and prints ``<shown>`` for an address remembered at a
  lower depth. Decoded values never share pointers except ``time.Local`` (:mod:`.gotime`), so two
  timestamps printed at increasing depth with no pointer between them at a shallower depth make
  the second ``loc`` print ``(*time.Location)<shown>``; :class:`Printer` keeps that state.
- DisableMethods: no ``String()``/``Error()`` calls, so ``resource.Quantity``, ``time.Time`` and
  friends print their private fields.

Zero values of absent struct fields print from the dumps :mod:`.layout` precomputed.
"""

from __future__ import annotations

from typing import Any

from rollouts.release.podhash.gotime import SharedStruct
from rollouts.release.podhash.layout import GoField, GoType

_MISSING = object()
#: Bound on cached plans per struct type; real templates use a handful of field sets per type.
_MAX_PLANS = 512


def _plan(t: GoType, v: dict[str, Any]) -> list[str | GoField]:
    """Constant text runs (separators, labels, zero dumps) and the present fields between them."""
    plan: list[str | GoField] = []
    run: list[str] = []
    for f in t.fields:
        if f.index:
            run.append(" ")
        if f.name in v:
            if run:
                plan.append("".join(run))
                run = []
            plan.append(f)
        else:
            run.append(f.zero_item)
    if run:
        plan.append("".join(run))
    return plan


class Printer:
    """One ``Fprintf`` call: the output parts and go-spew's ``formatState`` (depth, flags, pointers)."""

    __slots__ = ("out", "depth", "ignore_next", "pointers")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.depth = 0
        self.ignore_next = False
        #: id(shared pointee) → depth it was printed at (go-spew's ``pointers`` map, for the only
        #: pointers that can repeat); other pointers are unique and only trigger forgetting.
        self.pointers: dict[int, int] = {}

    def text(self) -> str:
        return "".join(self.out)

    def format(self, t: GoType, v: Any) -> None:
        """``formatState.format``."""
        kind = t.kind
        if kind == "ptr":
            self._format_ptr(t, v)
            return
        out = self.out
        if not self.ignore_next:
            out.append(t.paren_name)
        self.ignore_next = False
        if kind == "struct":
            self._struct(t, v)
        elif kind == "string":
            out.append(v)
        elif kind == "bool":
            out.append("true" if v else "false")
        elif kind == "slice":
            self._slice(t, v)
        elif kind == "map":
            self._map(t, v)
        else:
            out.append(str(v))

    def zero(self, t: GoType) -> None:
        """Print the zero value of ``t`` exactly as :meth:`format` would, from the precomputed dump."""
        if self.ignore_next:
            self.out.append(t.zero_untyped)
            if t.kind != "ptr":  # formatPtr's early return for nil keeps the flag set
                self.ignore_next = False
            return
        self.out.append(t.zero_typed)
        if self.pointers and t.zero_ptr_depth is not None:
            self._forget(self.depth + t.zero_ptr_depth)

    def _forget(self, depth: int) -> None:
        for key in [k for k, d in self.pointers.items() if d >= depth]:
            del self.pointers[key]

    def _struct(self, t: GoType, v: dict[str, Any]) -> None:
        """A struct's fields in order; absent ones print their precomputed zero dump.

        Fast path: for a given set of present fields the text between them is constant, so it is
        planned once per (type, present fields). The plan is only valid while go-spew remembers no
        pointer (absent nil pointers then have no effect) and ``ignoreNextType`` is clear; once a
        field changes either (a timestamp leaves ``time.Local`` remembered), the rest of the struct
        is printed field by field.
        """
        append = self.out.append
        append("{")
        self.depth += 1
        if self.pointers:
            self._fields(t, v, 0)
        else:
            keys = tuple(v)
            plan = t.plans.get(keys)
            if plan is None:
                plan = _plan(t, v)
                if len(t.plans) < _MAX_PLANS:
                    t.plans[keys] = plan
            for f in plan:
                if isinstance(f, str):
                    append(f)
                    continue
                append(f.label)
                self.format(f.type, v[f.name])
                if self.pointers or self.ignore_next:  # (the flag: only after a nil in a []*T)
                    self._fields(t, v, f.index + 1)
                    break
        self.depth -= 1
        append("}")

    def _fields(self, t: GoType, v: dict[str, Any], start: int) -> None:
        """Fields from index ``start`` on, one by one (go-spew's loop, separators included)."""
        append = self.out.append
        for f in t.fields[start:]:
            if f.index:
                append(" ")
            append(f.label)
            fv = v.get(f.name, _MISSING)
            if fv is _MISSING:
                self.zero(f.type)
            else:
                self.format(f.type, fv)

    def _slice(self, t: GoType, v: list[Any] | None) -> None:
        out = self.out
        if v is None:
            out.append("<nil>")
            return
        out.append("[")
        self.depth += 1
        elem = t.elem
        assert elem is not None
        for i, item in enumerate(v):
            if i:
                out.append(" ")
            self.ignore_next = True
            self.format(elem, item)
        self.depth -= 1
        out.append("]")

    def _map(self, t: GoType, v: dict[str, Any] | None) -> None:
        out = self.out
        if v is None:
            out.append("<nil>")
            return
        out.append("map[")
        self.depth += 1
        key_t, elem = t.key, t.elem
        assert key_t is not None and elem is not None
        # SortKeys on string kinds: Go string order is UTF-8 byte order, which code point order equals.
        for i, key in enumerate(sorted(v)):
            if i:
                out.append(" ")
            self.ignore_next = True
            self.format(key_t, key)
            out.append(":")
            self.ignore_next = True
            self.format(elem, v[key])
        self.depth -= 1
        out.append("]")

    def _format_ptr(self, t: GoType, v: Any) -> None:
        """``formatState.formatPtr`` for single-level pointers (the layout has no others)."""
        out = self.out
        if v is None and self.ignore_next:
            out.append("<nil>")
            return
        if self.pointers:
            self._forget(self.depth)
        if v is None:
            out.append(t.paren_name + "<nil>")
            return
        if isinstance(v, SharedStruct):
            key = id(v)
            seen_at = self.pointers.get(key)
            if seen_at is not None and seen_at < self.depth:
                out.append("<*><shown>" if self.ignore_next else t.paren_name + "<shown>")
                return
            self.pointers[key] = self.depth
        out.append("<*>" if self.ignore_next else t.paren_name)
        self.ignore_next = True
        self.format(t.elem, v)  # type: ignore[arg-type]


def sprint(t: GoType, v: Any) -> str:
    """``spew.Sprintf("%#v", v)`` for a value of type ``t`` (passed by value, as ComputeHash does)."""
    p = Printer()
    p.format(t, v)
    return p.text()
