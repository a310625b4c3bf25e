"""Re-export of :mod:`rollouts.api.intstr`, the one int-or-string implementation.

Kept only because released unit tests import ``IntOrStrError`` and ``scaled_value`` from here; new
code imports :mod:`rollouts.api.intstr` directly. Nothing is defined in this module.
"""

from __future__ import annotations

from rollouts.api.intstr import IntOrStrError, scaled_value

__all__ = ["IntOrStrError", "scaled_value"]
