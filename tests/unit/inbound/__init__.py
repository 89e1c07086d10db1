"""Tests for portico.inbound."""
