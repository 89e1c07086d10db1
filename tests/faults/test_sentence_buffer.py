"""The sentence buffer on its own: boundaries, hold time, pass-through of other chunks."""

from __future__ import annotations

from portico.schema.stream import ChatChunk, ChunkChoice, Delta
from portico.server.sse import SentenceBuffer


def chunk(content: str | None = None, finish: bool = False, role: bool = False) -> ChatChunk:
    delta = Delta(content=content, role="assistant" if role else None)
    return ChatChunk(id="c", created=1, model="m", choices=[ChunkChoice(
        index=0, delta=delta, finish_reason="stop" if finish else None)])


def texts(chunks: list[ChatChunk]) -> list[str | None]:
    return [c.choices[0].delta.content for c in chunks]


def test_coalesces_to_sentence_ends() -> None:
    buf = SentenceBuffer(0.25)
    assert buf.push(chunk("Hello wor"), 0.0) == []
    assert texts(buf.push(chunk("ld. How a"), 0.01)) == ["Hello world."]
    assert texts(buf.push(chunk("re you?\nFine"), 0.02)) == [" How are you?\n"]
    out = buf.push(chunk(finish=True), 0.03)
    assert texts(out) == ["Fine", None] and out[1].choices[0].finish_reason == "stop"


def test_decimal_point_is_not_a_sentence_end() -> None:
    buf = SentenceBuffer(0.25)
    assert buf.push(chunk("pi is 3.14 and"), 0.0) == []


def test_hold_time_releases_text() -> None:
    buf = SentenceBuffer(0.25)
    buf.push(chunk("no end in sight"), 0.0)
    assert buf.due_in(0.1) == 0.15
    assert buf.take_due(0.2) is None
    held = buf.take_due(0.25)
    assert held is not None and held.choices[0].delta.content == "no end in sight"
    assert texts(buf.push(chunk("late"), 0.3)) == []
    assert texts(buf.push(chunk(" more"), 0.6)) == ["late more"]   # checked on arrival too


def test_role_chunk_passes_through_in_order() -> None:
    buf = SentenceBuffer(0.25)
    assert texts(buf.push(chunk("", role=True), 0.0)) == [""]
