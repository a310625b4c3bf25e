"""A small, client-go-style controller runtime on asyncio.

Layers (each imports only those above it):

* ``clock``, ``reconcile``, ``flowcontrol``, ``backoff``, ``labels`` — no dependencies;
* ``kube`` — the HTTP client, typed errors, watch decoding (the only kubernetes_asyncio user);
* ``cache`` (reflector, store, informer), ``workqueue``;
* ``controller``, ``leaderelection``, ``events``, ``metrics``, ``http``;
* ``manager`` — wires everything for a process; ``testing`` — scripted inputs for unit tests.

The runtime knows nothing of Rollouts. See docs/runtime.md.
"""
