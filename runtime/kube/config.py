"""Where to connect and how to authenticate: kubeconfig files and in-cluster service accounts.

kubernetes_asyncio does the hard parts (kubeconfig merging, exec/OIDC auth plugins, in-cluster token
rotation, writing embedded certificates to files); this module reduces its ``Configuration`` to a
:class:`Connection`: a server URL, an SSL context and an async function returning fresh auth headers.
The HTTP layer is ours (see :mod:`runtime.kube.client`), so nothing else depends on the generated client.

Not supported (yet): kubeconfig ``proxy-url`` and ``tls-server-name``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, cast

import attrs
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import ConfigException, incluster_config, kube_config

__all__ = ["Connection", "load_kubeconfig", "load_in_cluster", "load_auto", "ConfigException", "static_headers"]

HeaderProvider = Callable[[], Awaitable[dict[str, str]]]


def static_headers(headers: dict[str, str] | None = None) -> HeaderProvider:
    """A header provider for fixed credentials (tests, plain tokens)."""
    fixed = dict(headers or {})

    async def provide() -> dict[str, str]:
        return fixed

    return provide


@attrs.frozen
class Connection:
    """Everything needed to open HTTP connections to one API server."""

    server: str
    """Base URL, e.g. ``https://127.0.0.1:6443`` (no trailing slash)."""
    ssl: ssl.SSLContext | bool = True
    """SSL context for https (CA, client cert); ``False`` disables verification (never in production)."""
    auth_headers: HeaderProvider = attrs.field(factory=static_headers)
    """Called before every request so rotating tokens (in-cluster, exec plugins) stay fresh."""


def _host(cfg: Configuration) -> str:
    # cast: kubernetes_asyncio's untyped ``host`` property infers as Optional; a loaded Configuration has one.
    return cast(str, cfg.host)


def _ssl_context(cfg: Configuration) -> ssl.SSLContext | bool:
    if not _host(cfg).startswith("https"):
        return False
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _from_configuration(cfg: Configuration, loader: Any = None) -> Connection:
    uses_exec = loader is not None and "exec" in (getattr(loader, "_user", None) or {})

    async def provide() -> dict[str, str]:
        headers: dict[str, str] = {}
        if uses_exec:
            # Re-runs the exec plugin only when its token expired (the loader checks the expiry);
            # kubernetes_asyncio would otherwise need a separate refresh task per client.
            await loader.load_from_exec_plugin()
            if getattr(loader, "token", None):
                cfg.api_key["BearerToken"] = loader.token
        auth = await cfg.auth_settings()
        if "BearerToken" in auth and auth["BearerToken"]["value"]:
            headers["Authorization"] = auth["BearerToken"]["value"]
        elif cfg.username or cfg.password:
            headers["Authorization"] = cfg.get_basic_auth_token()
        return headers

    return Connection(server=_host(cfg).rstrip("/"), ssl=_ssl_context(cfg), auth_headers=provide)


async def load_kubeconfig(path: str | os.PathLike | None = None, *, context: str | None = None) -> Connection:
    """Load a kubeconfig file (``path``, else ``$KUBECONFIG``'s first entry, else ``~/.kube/config``)."""
    if path is None:
        env = os.environ.get("KUBECONFIG", "")
        path = env.split(os.pathsep)[0] if env else str(Path.home() / ".kube" / "config")
    cfg = Configuration()
    loader = await kube_config.load_kube_config(config_file=str(path), context=context, client_configuration=cfg,
                                                persist_config=False)
    return _from_configuration(cfg, loader)


def load_in_cluster(
    *, token_file: str | None = None, ca_file: str | None = None, environ: Mapping[str, str] | None = None,
) -> Connection:
    """Use the pod's service account (token re-read periodically, as the kubelet rotates it).

    The keyword arguments exist for tests; in a pod the defaults (the mounted service-account files
    and ``KUBERNETES_SERVICE_HOST``/``PORT``) are right.
    """
    cfg = Configuration()
    loader = incluster_config.InClusterConfigLoader(
        token_filename=token_file or incluster_config.SERVICE_TOKEN_FILENAME,
        cert_filename=ca_file or incluster_config.SERVICE_CERT_FILENAME,
        environ=dict(environ) if environ is not None else os.environ)
    loader.load_and_set(cfg)
    return _from_configuration(cfg)


async def load_auto(kubeconfig: str | None = None, *, context: str | None = None) -> Connection:
    """Explicit path > ``$KUBECONFIG`` > in-cluster > ``~/.kube/config`` (controller-runtime's order)."""
    if kubeconfig:
        return await load_kubeconfig(kubeconfig, context=context)
    if os.environ.get("KUBECONFIG"):
        return await load_kubeconfig(None, context=context)
    try:
        return load_in_cluster()
    except ConfigException:
        return await load_kubeconfig(Path.home() / ".kube" / "config", context=context)
