"""Unit tests for portico.store."""
