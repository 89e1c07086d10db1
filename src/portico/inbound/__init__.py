"""Client-facing formats other than OpenAI's (e.g. Anthropic /v1/messages), translated to
canonical.
"""
