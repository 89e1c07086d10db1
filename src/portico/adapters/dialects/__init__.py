"""One package per upstream wire format; each splits request, response, stream and errors."""
