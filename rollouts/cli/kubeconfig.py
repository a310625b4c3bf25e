"""Kubeconfig and namespace resolution the way kubectl does it.

Order for the file(s): ``--kubeconfig`` > ``$KUBECONFIG`` (``os.pathsep``-separated list, merged
with the first file that sets a value winning) > ``~/.kube/config``. Context: ``--context`` >
``current-context``. Namespace: ``-n`` > the context's namespace > ``"default"``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml


@attrs.frozen
class ResolvedConfig:
    #: The kubeconfig file that defines the chosen context (what the client loads).
    path: str | None
    context: str | None
    namespace: str


def kubeconfig_paths(explicit: str | None, env: Mapping[str, str], home: Path) -> list[str]:
    if explicit:
        return [explicit]
    raw = env.get("KUBECONFIG", "")
    if raw:
        return [p for p in raw.split(os.pathsep) if p]
    return [str(home / ".kube" / "config")]


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def resolve(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> ResolvedConfig:
    """Pick the kubeconfig file, context and namespace (pure apart from reading the files)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    paths = kubeconfig_paths(kubeconfig, env, home)
    docs = [(p, _load(p)) for p in paths]
    current = context or next((d.get("current-context") for _, d in docs if d.get("current-context")), None)
    ctx_path: str | None = None
    ctx_ns: str | None = None
    for path, doc in docs:
        for entry in doc.get("contexts") or []:
            if entry.get("name") == current:
                ctx_path = path
                ctx_ns = (entry.get("context") or {}).get("namespace")
                break
        if ctx_path:
            break
    chosen = ctx_path or next((p for p, d in docs if d), paths[0] if paths else None)
    return ResolvedConfig(path=chosen, context=current, namespace=namespace or ctx_ns or "default")
