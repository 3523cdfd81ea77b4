"""Prometheus metrics for one ``Server``, in its own ``CollectorRegistry`` (several servers in one process
never clash), served at ``/metrics``."""

from __future__ import annotations

__all__ = ["ServeMetrics"]


class ServeMetrics:
    """Request counts by model, version, API and HTTP status, and latency histograms.

    Example:
        >>> m = ServeMetrics()
        >>> m.observe("m", "1", "predict", 200, 0.01)
        >>> b"tessera_serve_requests_total" in m.render()[0]
        True
    """

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("tessera_serve_requests", "Requests by model, version, API and HTTP status",
                                ["model", "version", "api", "status"], registry=self.registry)  # fmt: skip
        self.latency = Histogram("tessera_serve_request_latency_seconds", "Request latency in seconds",
                                 ["model", "version", "api"], registry=self.registry)  # fmt: skip

    def observe(self, model: str, version: str, api: str, status: int, seconds: float) -> None:
        """Count one request and record its latency."""
        self.requests.labels(model, version, api, str(status)).inc()
        self.latency.labels(model, version, api).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
