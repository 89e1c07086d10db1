"""Simulated upstreams speaking each provider's wire format, with fault injection per request."""
