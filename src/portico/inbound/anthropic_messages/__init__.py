"""Inbound Anthropic Messages API (https://docs.anthropic.com/en/api/messages): request bodies to
the canonical schema; canonical responses, chunks and errors back to Anthropic's wire format.
Pure translation, no I/O: the `/v1/messages` route wires it (see the docstrings for the contract).
"""

from portico.inbound.anthropic_messages.errors import anthropic_error_type, error_body
from portico.inbound.anthropic_messages.request import InboundRequest, to_canonical, translate
from portico.inbound.anthropic_messages.response import to_anthropic
from portico.inbound.anthropic_messages.stream import AnthropicStreamFramer

__all__ = [
    "AnthropicStreamFramer",
    "InboundRequest",
    "anthropic_error_type",
    "error_body",
    "to_anthropic",
    "to_canonical",
    "translate",
]
