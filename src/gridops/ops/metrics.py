"""Prometheus metrics. One registry per app, so tests and replicas do not share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gridops_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("gridops_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.incidents = Gauge("gridops_incidents", "Incidents by state", ["state"],
                               registry=self.registry)
        self.outbox = Gauge("gridops_outbox_messages", "Outbox messages by state", ["state"],
                            registry=self.registry)
        self.overdue = Gauge("gridops_sla_overdue_clocks", "Open clocks past due",
                             registry=self.registry)
        self.jobs = Counter("gridops_job_runs_total", "Background job runs", ["job", "outcome"],
                            registry=self.registry)
