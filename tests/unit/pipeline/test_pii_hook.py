"""The PII stage: modes, worker-thread detection, unmasking (whole and streamed), capture."""

from __future__ import annotations

import asyncio
import threading

import msgspec
import pytest

from portico.clock import ManualClock
from portico.config.model import (
    AuditConfig,
    LimitsConfig,
    ModelGroupConfig,
    PiiConfig,
    PorticoConfig,
)
from portico.errors import GatewayUnavailable, InvalidRequest, RateLimited
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Outcome
from portico.pipeline.pii_hook import DetectorHolder, PiiHook
from portico.pipeline.teams import TeamDirectory
from portico.privacy.detector import DetectorUnavailable
from portico.privacy.entities import Entity, EntityType
from portico.privacy.masking import Vault
from portico.privacy.response_unmask import UnmaskFilter
from portico.schema.chat import ChatRequest, FunctionCall, SystemMessage, ToolCall, UserMessage
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.response import ChatResponse, Choice, ResponseMessage
from portico.schema.stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from portico.store.records import (
    AuditEvent,
    KeyRecord,
    KeySettings,
    PiiMode,
    TeamRecord,
    TeamSettings,
)

from .test_teams import MemoryTeams

NAME = 'Ana "Nana" Lima'
EMAIL = "ana.lima@example.com"


class Fixed:
    """Finds each listed literal; records the threads it ran on."""

    def __init__(self, values: dict[str, EntityType] | None = None) -> None:
        self.values = values or {NAME: EntityType.PERSON, EMAIL: EntityType.EMAIL}
        self.calls = 0
        self.threads: set[int] = set()

    def detect(self, text: str) -> list[Entity]:
        self.calls += 1
        self.threads.add(threading.get_ident())
        out = []
        for value, kind in self.values.items():
            start = text.find(value)
            while start >= 0:
                out.append(Entity(kind, start, start + len(value), 1.0))
                start = text.find(value, start + 1)
        return sorted(out, key=lambda e: e.start)


class Sink:
    def __init__(self) -> None:
        self.audit: list[AuditEvent] = []

    def submit_ledger(self, row: object) -> None:
        raise AssertionError("the PII stage writes no ledger rows")

    def submit_audit(self, event: AuditEvent) -> None:
        self.audit.append(event)


def config(mode: PiiMode = "off", *, capture: bool = False,
           groups: dict[str, PiiMode] | None = None) -> PorticoConfig:
    models = [ModelGroupConfig(name=n, deployments=[], pii_mode=m)
              for n, m in (groups or {}).items()]
    return PorticoConfig(pii=PiiConfig(mode=mode), audit=AuditConfig(capture_content=capture),
                         models=models)


def hook(cfg: PorticoConfig, det: Fixed | None = None, sink: Sink | None = None
         ) -> tuple[PiiHook, Fixed, Sink]:
    det = det or Fixed()
    sink = sink or Sink()
    return PiiHook(cfg, DetectorHolder(lambda: det), sink), det, sink


def ctx(model: str = "m", mode: PiiMode | None = None) -> RequestContext:
    key = KeyRecord(id="vk_1", name="k", key_hash="h", prefix="sk-pt-", created_at_ms=0,
                    settings=KeySettings(pii_mode=mode))
    return RequestContext(request_id="req_1", started=0.0, ts_ms=1, key=key,
                          model_requested=model)


def request(text: str = f"I am {NAME}, mail {EMAIL}.") -> ChatRequest:
    return ChatRequest(model="m", messages=[SystemMessage(content="Be kind."),
                                            UserMessage(content=text)])


def response(content: str, args: str | None = None) -> ChatResponse:
    calls = ([ToolCall(id="c", function=FunctionCall(name="f", arguments=args))]
             if args is not None else msgspec.UNSET)
    return ChatResponse(id="r", created=0, model="m", choices=[Choice(
        index=0, message=ResponseMessage(content=content, tool_calls=calls),
        finish_reason="stop")])


async def test_off_makes_no_detector_calls_and_changes_nothing() -> None:
    built: list[int] = []

    def factory() -> Fixed:
        built.append(1)
        return Fixed()

    h = PiiHook(config("off"), DetectorHolder(factory), Sink())
    c, req = ctx(), request()
    assert await h.before(c, req) is req
    assert h.chunk_filter(c) is None
    resp = response("x")
    assert await h.after(c, resp) is resp
    await h.finalize(c, Outcome())
    assert built == [] and c.pii_counts == {}


async def test_detect_counts_but_leaves_the_request_alone() -> None:
    h, det, _ = hook(config("detect"))
    c, req = ctx(), request()
    assert await h.before(c, req) is req
    assert c.pii_counts == {"EMAIL": 1, "PERSON": 1}
    assert h.chunk_filter(c) is None   # nothing to restore, nothing to capture
    # Detection ran in a worker thread, never on the event loop's thread.
    assert det.threads and threading.get_ident() not in det.threads


async def test_mask_sends_placeholders_and_restores_them_in_the_response() -> None:
    h, _, _ = hook(config("mask"))
    c = ctx()
    masked = await h.before(c, request())
    sent = msgspec.json.encode(masked).decode()
    assert "Lima" not in sent and EMAIL not in sent
    assert "<PERSON_1>" in sent and "<EMAIL_1>" in sent
    args = '{"to": "<EMAIL_1>", "who": "<PERSON_1>"}'
    out = await h.after(c, response("Hello <PERSON_1> (<EMAIL_1>)", args))
    msg = out.choices[0].message
    assert msg.content == f"Hello {NAME} ({EMAIL})"
    assert not isinstance(msg.tool_calls, msgspec.UnsetType)
    # The quotes in the name are JSON-escaped: the arguments stay valid JSON.
    assert msgspec.json.decode(msg.tool_calls[0].function.arguments) == {"to": EMAIL, "who": NAME}
    await h.finalize(c, Outcome())


async def test_block_names_types_never_values() -> None:
    h, _, _ = hook(config("block"))
    with pytest.raises(InvalidRequest) as info:
        await h.before(ctx(), request())
    assert info.value.status == 400 and info.value.code == "pii_detected"
    assert "EMAIL" in info.value.message and "PERSON" in info.value.message
    assert EMAIL not in info.value.message and "Lima" not in info.value.message


async def test_block_lets_clean_requests_through() -> None:
    h, _, _ = hook(config("block"))
    req = request("nothing personal here")
    assert await h.before(ctx(), req) is req


@pytest.mark.parametrize(("default", "key", "group", "expected"), [
    ("off", None, None, "off"),
    ("mask", None, None, "mask"),
    ("off", "detect", None, "detect"),
    ("off", None, "block", "block"),
    ("mask", "off", None, "off"),          # an explicit key setting replaces the default
    ("off", "mask", "detect", "mask"),     # key and group both set: the stricter wins
    ("off", "detect", "block", "block"),
])
def test_mode_resolution(default: PiiMode, key: PiiMode | None, group: PiiMode | None,
                         expected: PiiMode) -> None:
    h, _, _ = hook(config(default, groups={"g": group} if group else None))
    assert h.mode_for(ctx("g", key)) == expected


async def test_missing_model_fails_closed() -> None:
    def factory() -> Fixed:
        raise DetectorUnavailable("no pipeline")

    h = PiiHook(config("mask"), DetectorHolder(factory), Sink())
    with pytest.raises(GatewayUnavailable):
        await h.before(ctx(), request())


async def test_detector_is_built_once_under_concurrency() -> None:
    built: list[int] = []

    def factory() -> Fixed:
        built.append(1)
        return Fixed()

    holder = DetectorHolder(factory)
    found = await asyncio.gather(*(holder.get() for _ in range(8)))
    assert built == [1] and len({id(d) for d in found}) == 1


async def test_capture_stores_masked_text_only_even_in_detect_mode() -> None:
    det = Fixed({**Fixed().values, "Bob Stone": EntityType.PERSON})
    h, _, sink = hook(config("detect", capture=True), det)
    c = ctx()
    await h.before(c, request())
    await h.after(c, response(f"Dear {NAME}, Bob Stone will write to {EMAIL}."))
    await h.finalize(c, Outcome())
    (event,) = sink.audit
    stored = msgspec.json.encode(event).decode()
    assert EMAIL not in stored and "Lima" not in stored and "Bob Stone" not in stored
    assert event.action == "chat.content" and event.event_id == "req_1:content"
    assert event.detail["response"] == "Dear <PERSON_1>, <PERSON_2> will write to <EMAIL_1>."
    assert "<PERSON_1>" in str(event.detail["messages"])


async def test_capture_with_pii_off_masks_for_capture_but_sends_the_original() -> None:
    h, _, sink = hook(config("off", capture=True))
    c, req = ctx(), request()
    assert await h.before(c, req) is req
    assert c.pii_counts == {}   # off: nothing recorded, the class is not raised
    filt = h.chunk_filter(c)
    assert filt is not None
    chunk = ChatChunk(id="x", created=0, model="m", choices=[
        ChunkChoice(index=0, delta=Delta(content=f"hi {EMAIL}"), finish_reason="stop")])
    assert filt.feed(chunk)[0].choices[0].delta.content == f"hi {EMAIL}"
    await h.finalize(c, Outcome())
    assert sink.audit[0].detail["response"] == "hi <EMAIL_1>"


def _vault() -> Vault:
    v = Vault()
    v.placeholder_for(EntityType.PERSON, NAME)
    v.placeholder_for(EntityType.EMAIL, EMAIL)
    return v


def _chunk(content: str | None = None, finish: bool = False,
           calls: list[ToolCallDelta] | None = None) -> ChatChunk:
    return ChatChunk(id="x", created=0, model="m", choices=[ChunkChoice(
        index=0, delta=Delta(content=content, tool_calls=calls),
        finish_reason="stop" if finish else None)])


def _stream(filt: UnmaskFilter, pieces: list[str]) -> str:
    out = []
    for i, piece in enumerate(pieces):
        for c in filt.feed(_chunk(piece, finish=i == len(pieces) - 1)):
            out.append(c.choices[0].delta.content or "")
    for c in filt.flush():
        out.append(c.choices[0].delta.content or "")
    return "".join(out)


def test_stream_restores_placeholders_split_at_every_offset() -> None:
    text = "Hi <PERSON_1>, mail <EMAIL_1> or <PERSON_1>!"
    want = f"Hi {NAME}, mail {EMAIL} or {NAME}!"
    for i in range(1, len(text)):
        for j in range(i, len(text)):
            pieces = [p for p in (text[:i], text[i:j], text[j:]) if p]
            assert _stream(UnmaskFilter(_vault()), pieces) == want, (i, j)
    assert _stream(UnmaskFilter(_vault()), list(text)) == want   # one character per chunk


def test_stream_without_finish_reason_flushes_the_tail() -> None:
    filt = UnmaskFilter(_vault())
    out = [c.choices[0].delta.content for c in filt.feed(_chunk("see <PERSON_"))]
    out += [c.choices[0].delta.content for c in filt.flush()]
    assert "".join(o or "" for o in out) == "see <PERSON_"


def test_stream_tool_call_arguments_are_restored_and_json_escaped() -> None:
    args = '{"who": "<PERSON_1>", "to": "<EMAIL_1>"}'
    for cut in range(1, len(args)):
        filt = UnmaskFilter(_vault())
        got: list[str] = []
        for i, piece in enumerate((args[:cut], args[cut:])):
            call = ToolCallDelta(index=0, function=FunctionDelta(arguments=piece))
            for c in filt.feed(_chunk(calls=[call], finish=i == 1)):
                for d in c.choices[0].delta.tool_calls or ():
                    got.append(d.function.arguments or "" if d.function else "")
        assert msgspec.json.decode("".join(got)) == {"who": NAME, "to": EMAIL}, cut


def embed(inputs: object) -> EmbeddingRequest:
    return EmbeddingRequest(model="m", input=inputs)  # type: ignore[arg-type]


TEXTS = [f"I am {NAME}", f"mail {EMAIL} and {NAME}", "nothing here"]


async def test_embeddings_off_reads_nothing() -> None:
    h, det, _ = hook(config("off"))
    req = embed(TEXTS)
    assert await h.before_embeddings(ctx(), req) is req
    assert det.calls == 0


async def test_embeddings_detect_counts_and_sends_inputs_unchanged() -> None:
    h, det, _ = hook(config("detect"))
    c, req = ctx(), embed(TEXTS)
    assert await h.before_embeddings(c, req) is req
    assert c.pii_counts == {"EMAIL": 1, "PERSON": 2} and c.pii_unscreened == 0
    assert det.threads and threading.get_ident() not in det.threads


async def test_embeddings_mask_masks_each_input_with_one_vault() -> None:
    h, _, _ = hook(config("mask"))
    c = ctx()
    masked = await h.before_embeddings(c, embed(TEXTS))
    assert masked.input == ["I am <PERSON_1>", "mail <EMAIL_1> and <PERSON_1>", "nothing here"]
    single = await h.before_embeddings(ctx(), embed(f"to {EMAIL}"))
    assert single.input == "to <EMAIL_1>"
    await h.finalize(c, Outcome())   # nothing held: vectors carry nothing to restore
    assert h.chunk_filter(c) is None


async def test_embeddings_block_names_types_only() -> None:
    h, _, _ = hook(config("block"))
    with pytest.raises(InvalidRequest) as info:
        await h.before_embeddings(ctx(), embed(TEXTS))
    assert info.value.code == "pii_detected" and "PERSON" in info.value.message
    assert EMAIL not in info.value.message and "Lima" not in info.value.message
    clean = embed(["nothing here"])
    assert await h.before_embeddings(ctx(), clean) is clean


@pytest.mark.parametrize("mode", ["mask", "block"])
@pytest.mark.parametrize("inputs", [[1, 2, 3], [[1, 2], [3]], ["text", [1, 2]]])
async def test_embeddings_token_arrays_are_refused_when_screening_is_required(
        mode: PiiMode, inputs: object) -> None:
    h, det, _ = hook(config(mode))
    with pytest.raises(InvalidRequest) as info:
        await h.before_embeddings(ctx(), embed(inputs))
    assert info.value.status == 400 and info.value.code == "pii_unscreenable_input"
    assert info.value.param == "input" and "token-array" in info.value.message
    assert det.calls == 0


async def test_embeddings_token_arrays_in_detect_mode_are_recorded_unscreened() -> None:
    h, _, _ = hook(config("detect"))
    c, req = ctx(), embed([f"mail {EMAIL}", [1, 2], [3]])
    assert await h.before_embeddings(c, req) is req
    assert c.pii_unscreened == 2 and c.pii_counts == {"EMAIL": 1}


async def test_embeddings_capture_stores_masked_inputs() -> None:
    h, _, sink = hook(config("detect", capture=True))
    c = ctx()
    c.endpoint = "embeddings"
    await h.before_embeddings(c, embed(TEXTS))
    await h.finalize(c, Outcome())
    (event,) = sink.audit
    assert event.action == "embeddings.content"
    stored = msgspec.json.encode(event).decode()
    assert EMAIL not in stored and "Lima" not in stored and "<PERSON_1>" in stored


# --- the team's pii_mode ----------------------------------------------------------------------

def team_hook(cfg: PorticoConfig, team_mode: PiiMode | None
              ) -> tuple[PiiHook, Fixed, MemoryTeams]:
    store = MemoryTeams(TeamRecord(id="team_red", name="red", created_at_ms=1,
                                   settings=TeamSettings(pii_mode=team_mode)))
    det = Fixed()
    teams = TeamDirectory(store, LimitsConfig(), ManualClock())
    return PiiHook(cfg, DetectorHolder(lambda: det), Sink(), teams=teams), det, store


def team_ctx(model: str = "m", mode: PiiMode | None = None,
             team: str | None = "red") -> RequestContext:
    c = ctx(model, mode)
    assert c.key is not None
    c.key = msgspec.structs.replace(c.key, team=team)
    return c


@pytest.mark.parametrize(("default", "key", "team", "group", "expected"), [
    ("off", None, "block", None, "block"),     # the team alone sets it
    ("mask", None, "detect", None, "detect"),  # a set team mode replaces the default
    ("off", "block", "detect", None, "block"),  # strictest of key, team and group
    ("off", "detect", "mask", None, "mask"),
    ("off", "detect", "mask", "block", "block"),
    ("off", "off", "mask", None, "mask"),      # a key cannot opt out of its team's mode
    ("block", None, None, None, "block"),
])
def test_mode_resolution_with_team(default: PiiMode, key: PiiMode | None,
                                   team: PiiMode | None, group: PiiMode | None,
                                   expected: PiiMode) -> None:
    h, _, _ = hook(config(default, groups={"g": group} if group else None))
    assert h.mode_for(ctx("g", key), TeamSettings(pii_mode=team)) == expected


async def test_team_block_refuses_chat_naming_types_only() -> None:
    h, _, store = team_hook(config("off"), "block")
    with pytest.raises(InvalidRequest) as info:
        await h.before(team_ctx(), request())
    assert info.value.status == 400 and info.value.code == "pii_detected"
    assert "EMAIL" in info.value.message and "PERSON" in info.value.message
    assert EMAIL not in info.value.message and "Lima" not in info.value.message
    # Another key of no team, same hook: not screened, no team read.
    reads = store.reads
    req = request()
    assert await h.before(team_ctx(team=None), req) is req
    assert store.reads == reads


async def test_team_mask_masks_and_team_block_refuses_embeddings() -> None:
    h, _, _ = team_hook(config("off"), "mask")
    masked = await h.before(team_ctx(), request())
    assert EMAIL not in msgspec.json.encode(masked).decode()
    h, _, _ = team_hook(config("off"), "block")
    with pytest.raises(InvalidRequest) as info:
        await h.before_embeddings(team_ctx(), embed(TEXTS))
    assert info.value.code == "pii_detected" and "EMAIL" in info.value.message
    with pytest.raises(InvalidRequest) as arrays:
        await h.before_embeddings(team_ctx(), embed([[1, 2]]))
    assert arrays.value.code == "pii_unscreenable_input"


async def test_team_mode_is_read_from_the_cache() -> None:
    h, det, store = team_hook(config("off"), "detect")
    for _ in range(20):
        c = team_ctx()
        await h.before(c, request())
        assert c.pii_counts == {"EMAIL": 1, "PERSON": 1}
    assert store.reads == 1 and det.calls > 0


async def test_deferred_limits_are_taken_before_detection_and_only_when_it_runs() -> None:
    events: list[str] = []

    class Recording(Fixed):
        def detect(self, text: str) -> list[Entity]:
            events.append("detect")
            return super().detect(text)

    async def admit(c: RequestContext) -> None:
        events.append(f"admit {c.request_id}")

    def make(mode: PiiMode) -> PiiHook:
        return PiiHook(config(mode), DetectorHolder(Recording), Sink(), admit=admit)

    await make("off").before(ctx(), request())
    await make("off").before_embeddings(ctx(), embed("a b"))
    assert events == []                       # no detection: the reservation stays deferred
    await make("mask").before(ctx(), request())
    assert events[0] == "admit req_1" and events[1:] and set(events[1:]) == {"detect"}
    events.clear()
    await make("detect").before_embeddings(ctx(), embed(["x", "y"]))
    assert events[0] == "admit req_1" and set(events[1:]) == {"detect"}


async def test_a_refused_admission_runs_no_detection() -> None:
    detected: list[str] = []

    class Recording(Fixed):
        def detect(self, text: str) -> list[Entity]:
            detected.append(text)
            return super().detect(text)

    async def refuse(c: RequestContext) -> None:
        raise RateLimited("limit reached", retry_after=1.0)

    h = PiiHook(config("mask"), DetectorHolder(Recording), Sink(), admit=refuse)
    with pytest.raises(RateLimited):
        await h.before(ctx(), request())
    assert detected == []
