"""Inbound Anthropic Messages API (https://docs.anthropic.com/en/api/messages): requests to the
canonical schema, canonical responses, chunks and errors back to Anthropic's wire format.
"""
