"""Tests for portico.inbound.anthropic_messages."""
