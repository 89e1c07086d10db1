"""Reversible masking of canonical chat requests: placeholders, vault, counts, round trip."""

from __future__ import annotations

import msgspec

from portico.privacy.detector import PiiDetector
from portico.privacy.entities import Entity, EntityType
from portico.privacy.masking import Masker, Vault, block_message, mask_request
from portico.schema.chat import (
    AssistantMessage,
    ChatRequest,
    FunctionCall,
    ImagePart,
    ImageURL,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)

EMAIL = "ana.lima@example.com"


class FixedDetector:
    """Finds each listed literal wherever it occurs: masking logic without the model."""

    def __init__(self, values: dict[str, EntityType]) -> None:
        self.values = values

    def detect(self, text: str) -> list[Entity]:
        out = []
        for value, kind in self.values.items():
            start = text.find(value)
            while start >= 0:
                out.append(Entity(kind, start, start + len(value), 1.0))
                start = text.find(value, start + 1)
        return sorted(out, key=lambda e: e.start)


def _request() -> ChatRequest:
    return ChatRequest(
        model="gpt-test",
        messages=[
            SystemMessage(content=f"Support agent. Escalate to {EMAIL}."),
            UserMessage(content=[
                TextPart(text=f"My name is Sarah Johnson, mail {EMAIL}, card 4111 1111 1111 1111."),
                ImagePart(image_url=ImageURL(url=f"https://img.example/{EMAIL}.png")),
            ]),
            AssistantMessage(tool_calls=[ToolCall(id="c1", function=FunctionCall(
                name="lookup", arguments=f'{{"email": "{EMAIL}", "limit": 3}}'))]),
            ToolMessage(content=f"Account of Sarah Johnson <{EMAIL}> found.", tool_call_id="c1"),
        ],
    )


def test_mask_request_round_trip_with_the_real_model(detector: PiiDetector) -> None:
    req = _request()
    vault = Vault()
    masked, counts = mask_request(req, detector, vault)
    wire = msgspec.json.encode(masked).decode()
    assert "4111 1111 1111 1111" not in wire
    assert "Sarah Johnson" not in wire
    assert f"card {'<CREDIT_CARD_1>'}" in wire
    assert counts[EntityType.EMAIL] == 4   # system, user, tool-call arguments, tool; not the image
    assert counts[EntityType.PERSON] == 2
    assert counts[EntityType.CREDIT_CARD] == 1
    user = masked.messages[1]
    assert isinstance(user, UserMessage) and isinstance(user.content, list)
    assert user.content[1] == req.messages[1].content[1]   # type: ignore[index]
    call = masked.messages[2]
    assert isinstance(call, AssistantMessage) and call.tool_calls
    assert msgspec.json.decode(call.tool_calls[0].function.arguments) == {
        "email": "<EMAIL_1>", "limit": 3}
    # Every masked text comes back exactly (tool arguments as equal JSON: they are re-encoded);
    # the request we were given was not changed.
    restored = msgspec.json.decode(vault.unmask(wire), type=ChatRequest)
    for before, after in zip(req.messages, restored.messages, strict=True):
        if isinstance(after, AssistantMessage) and after.tool_calls:
            assert isinstance(before, AssistantMessage) and before.tool_calls
            assert msgspec.json.decode(after.tool_calls[0].function.arguments) == \
                msgspec.json.decode(before.tool_calls[0].function.arguments)
        else:
            assert after == before
    assert EMAIL in msgspec.json.encode(req).decode()


def test_same_value_same_placeholder_counted_per_type() -> None:
    det = FixedDetector({"Bob": EntityType.PERSON, "Eve": EntityType.PERSON,
                         "b@x.io": EntityType.EMAIL})
    masker = Masker(det)
    result = masker.mask(["Bob and Eve", "Eve mailed b@x.io, then Bob did"])
    assert result.texts == ("<PERSON_1> and <PERSON_2>",
                            "<PERSON_2> mailed <EMAIL_1>, then <PERSON_1> did")
    assert result.counts == {EntityType.PERSON: 4, EntityType.EMAIL: 1}
    assert masker.unmask("<PERSON_2> wrote to <EMAIL_1> about <PERSON_9>") == \
        "Eve wrote to b@x.io about <PERSON_9>"
    assert "Bob" not in repr(masker.vault)


def test_vaults_are_per_request() -> None:
    det = FixedDetector({"Bob": EntityType.PERSON})
    first, second = Vault(), Vault()
    Masker(det, first).mask(["Bob"])
    assert second.unmask("<PERSON_1>") == "<PERSON_1>"
    assert first.unmask("<PERSON_1>") == "Bob"


def test_broken_tool_arguments_are_masked_as_text() -> None:
    det = FixedDetector({EMAIL: EntityType.EMAIL})
    req = ChatRequest(model="m", messages=[AssistantMessage(tool_calls=[ToolCall(
        id="c", function=FunctionCall(name="f", arguments=f'{{"to": "{EMAIL}"'))])])
    masked, counts = mask_request(req, det, Vault())
    msg = masked.messages[0]
    assert isinstance(msg, AssistantMessage) and msg.tool_calls
    assert msg.tool_calls[0].function.arguments == '{"to": "<EMAIL_1>"'
    assert counts == {EntityType.EMAIL: 1}


def test_block_message_names_types_not_values() -> None:
    text = block_message({EntityType.US_SSN: 1, EntityType.EMAIL: 2, EntityType.PERSON: 0})
    assert "EMAIL" in text and "US_SSN" in text and "PERSON" not in text
    assert "123-45" not in text
