"""Translation between the canonical schema and each upstream wire format; no I/O here.

`dialects/` holds one package per wire format (OpenAI chat, Anthropic messages, Gemini);
`providers/` holds one data module per vendor naming its dialect, URL, auth and policies.
"""
