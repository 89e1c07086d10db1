"""The PII stage: detect, mask or block personal data before a request leaves the gateway,
restore masked values in responses and streams, and (opt-in) capture masked content for audit.

Detection is CPU work (spaCy, ~tens of ms), so it runs in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from portico.config.model import PiiConfig, PorticoConfig
from portico.config.secrets import ConfigError
from portico.errors import GatewayUnavailable, InvalidRequest
from portico.pipeline.context import RequestContext
from portico.pipeline.embeddings import split_inputs
from portico.pipeline.hooks import BaseHook, ChunkFilter, Outcome
from portico.pipeline.ledger import Sink
from portico.pipeline.teams import TeamDirectory
from portico.privacy.capture import CONTENT_SUFFIX, CapturedContent, CapturedMessage
from portico.privacy.detector import DetectorConfig, DetectorUnavailable
from portico.privacy.entities import EntityType
from portico.privacy.masking import Detector, Masker, Vault, block_message, mask_request
from portico.privacy.response_unmask import UnmaskFilter, unmask_response
from portico.schema.chat import AssistantMessage, ChatRequest, TextPart
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.response import ChatResponse
from portico.store.records import AuditEvent, PiiMode, TeamSettings

log = logging.getLogger("portico.pii")
_STRICTNESS: Mapping[PiiMode, int] = {"off": 0, "detect": 1, "mask": 2, "block": 3}


def detector_config(pii: PiiConfig) -> DetectorConfig:
    """The detector settings named by `pii:` in the config (entity names are checked)."""
    try:
        entities = (frozenset(EntityType(e.upper()) for e in pii.entities)
                    if pii.entities is not None else None)
    except ValueError as exc:
        known = ", ".join(e.value for e in EntityType)
        raise ConfigError("pii.entities", f"unknown entity type ({exc}); known: {known}") from exc
    base = DetectorConfig(pipeline=pii.pipeline, use_model=pii.use_model,
                          score_threshold=pii.score_threshold)
    if entities is None:
        return base
    return DetectorConfig(pipeline=base.pipeline, use_model=base.use_model,
                          score_threshold=base.score_threshold, entities=entities)


class DetectorHolder:
    """Builds the detector once, in a worker thread, the first time anything needs it."""

    def __init__(self, factory: Callable[[], Detector], ready: Detector | None = None) -> None:
        self._factory = factory
        self._detector = ready
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> Detector | None:
        return self._detector

    def install(self, detector: Detector) -> None:
        """Use an already-built detector (tests share one NER model per session)."""
        self._detector = detector

    async def get(self) -> Detector:
        if self._detector is not None:
            return self._detector
        async with self._lock:
            if self._detector is None:
                try:
                    self._detector = await asyncio.to_thread(self._factory)
                except DetectorUnavailable as exc:
                    log.error("PII detector unavailable: %s", exc)
                    # Fail closed: a request that must be screened is not sent unscreened.
                    raise GatewayUnavailable("PII screening is unavailable on this gateway",
                                             code="pii_unavailable") from exc
        return self._detector


def modes_in_config(config: PorticoConfig) -> set[PiiMode]:
    return {config.pii.mode, *(g.pii_mode for g in config.models if g.pii_mode is not None)}


@dataclass(slots=True)
class _Capture:
    messages: list[tuple[str, str]]
    response: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    mode: PiiMode
    vault: Vault
    capture: _Capture | None


def _text_of(content: str | Sequence[object] | None) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    return [p.text for p in content if isinstance(p, TextPart)]


def _message_texts(req: ChatRequest) -> list[tuple[str, str]]:
    """Role and text of each message (text parts joined; tool-call arguments appended)."""
    out: list[tuple[str, str]] = []
    for msg in req.messages:
        parts = _text_of(msg.content)
        if isinstance(msg, AssistantMessage) and msg.tool_calls:
            parts.extend(call.function.arguments for call in msg.tool_calls)
        role = type(msg).__name__.removesuffix("Message").lower()
        out.append((role, "\n".join(parts)))
    return out


class PiiHook(BaseHook):
    name = "pii"

    def __init__(self, config: PorticoConfig, detectors: DetectorHolder,
                 sink: Sink | None = None, *, teams: TeamDirectory | None = None,
                 admit: Callable[[RequestContext], Awaitable[None]] | None = None) -> None:
        self._default: PiiMode = config.pii.mode
        self._groups: dict[str, PiiMode] = {
            g.name: g.pii_mode for g in config.models if g.pii_mode is not None}
        self._capture = config.audit.capture_content and sink is not None
        self._detectors = detectors
        self._sink = sink
        self._teams = teams   # a team's pii_mode binds its keys (cached lookups)
        # Takes a deferred inbound-limit reservation before detection runs (Redis limits
        # defer it to the first upstream attempt): an over-limit client costs no detection.
        self._admit = admit
        # Per-request state between before and finalize (finalize always runs and pops it).
        self._states: dict[str, _State] = {}

    def mode_for(self, ctx: RequestContext, team: TeamSettings | None = None) -> PiiMode:
        """The strictest of the modes set on the key, its team and the model group; else the
        default."""
        set_modes = [m for m in (ctx.key.settings.pii_mode if ctx.key else None,
                                 team.pii_mode if team is not None else None,
                                 self._groups.get(ctx.model_requested)) if m is not None]
        if not set_modes:
            return self._default
        return max(set_modes, key=_STRICTNESS.__getitem__)

    async def _mode(self, ctx: RequestContext) -> PiiMode:
        team = (await self._teams.settings_of(ctx.team)
                if self._teams is not None and ctx.team is not None else None)
        return self.mode_for(ctx, team)

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest:
        mode = await self._mode(ctx)
        if mode == "off" and not self._capture:
            return req
        if self._admit is not None:
            await self._admit(ctx)
        detector = await self._detectors.get()
        vault = Vault()
        masked, counts = await asyncio.to_thread(mask_request, req, detector, vault)
        capture = _Capture(_message_texts(masked)) if self._capture else None
        if mode != "off" and counts:
            ctx.pii_counts = {k.value: n for k, n in sorted(counts.items())}
        if capture is not None or (mode == "mask" and len(vault)):
            self._states[ctx.request_id] = _State(mode, vault, capture)
        if mode == "block" and counts:
            raise InvalidRequest(block_message(counts), code="pii_detected")
        return masked if mode == "mask" else req

    async def before_embeddings(self, ctx: RequestContext, req: EmbeddingRequest
                                ) -> EmbeddingRequest:
        """Each input string is screened like a message. Masking changes the vectors (the
        model embeds `<EMAIL_1>`, not the address), so nothing is restored afterwards."""
        mode = await self._mode(ctx)
        if mode == "off" and not self._capture:
            return req
        inputs = split_inputs(req)
        if inputs.token_arrays and mode in ("mask", "block"):
            raise InvalidRequest(
                f"The PII mode for this key ({mode}) requires every input to be screened, and "
                "token-array inputs cannot be screened for personal data; send the inputs "
                "as text.", param="input", code="pii_unscreenable_input")
        if self._admit is not None:
            await self._admit(ctx)
        detector = await self._detectors.get()
        vault = Vault()
        result = await asyncio.to_thread(Masker(detector, vault).mask, inputs.texts)
        if mode != "off":
            if result.counts:
                ctx.pii_counts = {k.value: n for k, n in sorted(result.counts.items())}
            ctx.pii_unscreened = inputs.token_arrays   # detect mode only, by the check above
        if self._capture:
            self._states[ctx.request_id] = _State(
                mode, vault, _Capture([("input", t) for t in result.texts]))
        if mode == "block" and result.counts:
            raise InvalidRequest(block_message(result.counts), code="pii_detected")
        if mode != "mask" or not result.counts:
            return req
        masked = result.texts[0] if isinstance(req.input, str) else list(result.texts)
        return msgspec.structs.replace(req, input=masked)

    async def after(self, ctx: RequestContext, resp: ChatResponse) -> ChatResponse:
        state = self._states.get(ctx.request_id)
        if state is None:
            return resp
        if state.capture is not None:
            state.capture.response.extend(c.message.content or "" for c in resp.choices)
        return unmask_response(resp, state.vault) if state.mode == "mask" else resp

    def chunk_filter(self, ctx: RequestContext) -> ChunkFilter | None:
        state = self._states.get(ctx.request_id)
        if state is None:
            return None
        vault = state.vault if state.mode == "mask" else Vault()
        record = state.capture.response.append if state.capture is not None else None
        return UnmaskFilter(vault, record)

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        state = self._states.pop(ctx.request_id, None)
        if state is None or state.capture is None or self._sink is None:
            return
        text = "".join(state.capture.response)
        if text:
            # The model may write PII of its own: the response is masked too before storing.
            masker = Masker(await self._detectors.get(), state.vault)
            text = await asyncio.to_thread(masker.mask_text, text)
        content = CapturedContent(
            request_id=ctx.request_id, pii_mode=state.mode,
            messages=[CapturedMessage(role=r, text=t) for r, t in state.capture.messages],
            response=text)
        self._sink.submit_audit(AuditEvent(
            event_id=f"{ctx.request_id}:content", ts_ms=ctx.ts_ms, kind="request",
            actor=ctx.key_id or ("master" if ctx.is_master else "anonymous"),
            action=f"{ctx.endpoint}{CONTENT_SUFFIX}", target=ctx.model_requested,
            detail=msgspec.to_builtins(content),
        ))


async def build_detectors(config: PorticoConfig) -> DetectorHolder:
    """The gateway's detector holder: built now (in a thread, failing fast) when the config
    turns PII handling or capture on anywhere; otherwise only when a key first asks for it."""
    settings = detector_config(config.pii)

    def factory() -> Detector:
        from portico.privacy.detector import PiiDetector  # Presidio: imported only if used
        return PiiDetector(settings)

    if modes_in_config(config) != {"off"} or config.audit.capture_content:
        return DetectorHolder(factory, await asyncio.to_thread(factory))
    return DetectorHolder(factory)
