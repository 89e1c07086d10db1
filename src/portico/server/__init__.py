"""The ASGI app factory, routes, SSE framing, error rendering and middleware."""
