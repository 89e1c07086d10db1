"""The only HTTP client code: pooled sessions, timeouts, time-to-first-byte, abort on cancel."""
