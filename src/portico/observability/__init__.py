"""Structured logs with redaction, Prometheus metrics, tracing."""
