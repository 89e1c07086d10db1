"""Streaming unmask: restores placeholders in content deltas even when split across chunks."""

from __future__ import annotations

from portico.privacy.masking import PLACEHOLDER, Vault


class StreamUnmasker:
    """Feed deltas in order; each call returns the text safe to emit now, `flush()` the rest.

    A suffix that could still grow into a known placeholder (`<`, `<PER`, `<PERSON_1`) is held
    back until it completes or can no longer be one.
    """

    __slots__ = ("_buf", "_vault")

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._buf = ""

    def feed(self, delta: str) -> str:
        buf = self._buf + delta
        if not len(self._vault) or "<" not in buf:
            self._buf = ""
            return buf
        out: list[str] = []
        pos = 0
        while True:
            lt = buf.find("<", pos)
            if lt < 0:
                out.append(buf[pos:])
                self._buf = ""
                break
            out.append(buf[pos:lt])
            match = PLACEHOLDER.match(buf, lt)
            if match is not None:
                original = self._vault.original(match.group(0))
                if original is not None:
                    out.append(original)
                    pos = match.end()
                    continue
            if self._could_grow(buf[lt:]):
                self._buf = buf[lt:]
                break
            out.append("<")
            pos = lt + 1
        return "".join(out)

    def flush(self) -> str:
        """The held-back tail, verbatim: at end of stream it can no longer become a placeholder."""
        rest, self._buf = self._buf, ""
        return rest

    def _could_grow(self, tail: str) -> bool:
        return any(len(p) > len(tail) and p.startswith(tail) for p in self._vault.placeholders)
