"""Run the real manager entry point with the service-account files where in-cluster config reads them.

In a Pod the kubelet mounts the token and CA at /var/run/secrets/kubernetes.io/serviceaccount/; the
manager (no --kubeconfig, no $KUBECONFIG) then loads them through kubernetes_asyncio's in-cluster
loader (runtime.kube.config.load_auto → load_in_cluster). That directory is machine-global here, so
the test points the loader's two module-level paths at a private directory (``SA_FILES_DIR``) and
changes nothing else: the manager's own code path is the Pod's.
"""

from __future__ import annotations

import os
import sys

from kubernetes_asyncio.config import incluster_config

if __name__ == "__main__":
    directory = os.environ.pop("SA_FILES_DIR")
    incluster_config.SERVICE_TOKEN_FILENAME = os.path.join(directory, "token")
    incluster_config.SERVICE_CERT_FILENAME = os.path.join(directory, "ca.crt")
    from rollouts.cmd.manager import main

    sys.exit(main(sys.argv[1:]))
