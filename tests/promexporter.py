"""A test-controlled Prometheus exporter: a loopback HTTP server whose ``/metrics`` text the test sets.

The analysis and metrics tests point the real Prometheus (``prometheus_server`` fixture) at it and change
the served series mid-test (an error-rate spike for the canary, a gap for "no data")."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Exporter:
    """Serves ``{metric: {labels-text: value}}`` in the text exposition format; ``set``/``drop`` edit it."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = exporter.render().encode()
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-exporter", daemon=True)
        self._thread.start()

    def set(self, metric: str, labels: dict[str, str], value: float) -> None:
        with self._lock:
            self._series[(metric, _labels(labels))] = value

    def drop(self, metric: str, labels: dict[str, str] | None = None) -> None:
        """Stop serving ``metric`` (one series, or all of it when ``labels`` is None)."""
        with self._lock:
            for key in [k for k in self._series if k[0] == metric and (labels is None or k[1] == _labels(labels))]:
                del self._series[key]

    def render(self) -> str:
        with self._lock:
            return "".join(f"{m}{{{lbl}}} {v}\n" for (m, lbl), v in sorted(self._series.items()))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
