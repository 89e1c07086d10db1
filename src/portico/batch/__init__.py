"""Deferred and batch execution (OpenAI-compatible files and batches)."""
