"""Hostile request shapes: oversized and lying bodies, bad encodings, deep nesting, header
injection, duplicate credentials and wrong content types; never a 5xx, never a hang."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.support.gateway import Running

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


async def raw(running: Running, data: bytes, *, half_close: bool = False,
              timeout: float = 10.0) -> tuple[int | None, bytes]:
    """Send bytes on a fresh loopback connection; the status line's code (None if the
    server closed without answering) and everything read."""
    parts = urlsplit(running.root_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(data)
        await writer.drain()
        if half_close:
            writer.write_eof()
        out = await asyncio.wait_for(reader.read(65536), timeout)
    finally:
        writer.close()
    if not out.startswith(b"HTTP/1.1 "):
        return None, out
    return int(out[9:12]), out


def request(running: Running, body: bytes, *, headers: list[str] | None = None,
            path: str = "/v1/chat/completions", length: int | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: localhost",
             f"Authorization: Bearer {running.key}", "Content-Type: application/json",
             f"Content-Length: {len(body) if length is None else length}",
             "Connection: close", *(headers or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def post(http: aiohttp.ClientSession, running: Running, body: bytes,
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    h = {"Authorization": f"Bearer {running.key}", "Content-Type": "application/json",
         **(headers or {})}
    async with http.post(running.base_url + "/chat/completions", data=body, headers=h) as r:
        return r.status, await r.json(content_type=None)


async def test_oversized_body_is_413(running: Running, http: aiohttp.ClientSession) -> None:
    limit = running.gateway.config.server.max_body_bytes
    big = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + \
        b"a" * (limit + 10) + b'"}]}'
    status, body = await post(http, running, big)
    assert status == 413 and body["error"]["code"] == "payload_too_large"  # type: ignore[index]
    # Declared too large: refused before reading a byte.
    code, _ = await raw(running, request(running, b"", length=limit + 1))
    assert code == 413


async def test_chunked_oversized_body_is_413(running: Running) -> None:
    limit = running.gateway.config.server.max_body_bytes
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {running.key}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    chunk = b"a" * 65536
    body = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * (limit // len(chunk) + 2)
    code, _ = await raw(running, head + body + b"0\r\n\r\n")
    assert code == 413


@pytest.mark.parametrize("body,code", [
    (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\xff\xfe"}]}', 400),
    (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a\x00b"}]}', 400),
    (b'{"model":"gpt-4o-mini\x00","messages":[]}', 400),
    (b"\x00\x00\x00", 400),
    (b'{"model": "gpt-4o-mini", "messages": [' + b"[" * 5000 + b"]" * 5000 + b"]}", 400),
    (b'{"a":' * 10000 + b"1" + b"}" * 10000, 400),
    (b"[" * 100000, 400),
    (b'{"model":"gpt-4o-mini","messages":"' + b"\\" * 10 + b'"}', 400),
    (b"", 400),
    (b"null", 400),
    (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"api_key":"x"}', 400),
    (b'{"model":1e999999,"messages":[]}', 400),
])
async def test_malformed_bodies_are_400(running: Running, http: aiohttp.ClientSession,
                                        body: bytes, code: int) -> None:
    status, payload = await post(http, running, body)
    assert status == code, payload
    assert payload["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_escaped_nul_in_content_is_not_a_server_error(
        running: Running, http: aiohttp.ClientSession) -> None:
    body = json.dumps({**CHAT, "messages": [{"role": "user", "content": "a\u0000b"}]})
    status, _ = await post(http, running, body.encode())
    assert status < 500


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "text/html", "",
])
async def test_wrong_content_types_are_415(running: Running, http: aiohttp.ClientSession,
                                           content_type: str) -> None:
    status, payload = await post(http, running, json.dumps(CHAT).encode(),
                                 {"Content-Type": content_type})
    assert status == 415, payload
    assert payload["error"]["code"] == "unsupported_media_type"  # type: ignore[index]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "Application/JSON", "application/vnd.api+json"])
async def test_json_content_types_accepted(running: Running, http: aiohttp.ClientSession,
                                           content_type: str) -> None:
    status, _ = await post(http, running, json.dumps(CHAT).encode(),
                           {"Content-Type": content_type})
    assert status == 200


async def test_duplicate_credentials_are_400(running: Running) -> None:
    body = json.dumps(CHAT).encode()
    for extra in ([f"Authorization: Bearer {running.key}"], [f"x-api-key: {running.key}",
                                                             f"x-api-key: {running.key}"]):
        code, out = await raw(running, request(running, body, headers=extra))
        assert code == 400, out
    code, _ = await raw(running, request(running, body,
                                         headers=["Content-Type: application/json"]))
    assert code == 400


@pytest.mark.parametrize("header", [
    "X-Test: a\rb", "X-Test: a\nInjected: 1", "X-Bad\x00: 1", "X Space: 1", "X-Test: \x7f\x01",
    " X-Folded: continuation",
])
async def test_header_injection_is_refused(running: Running, header: str) -> None:
    code, out = await raw(running, request(running, json.dumps(CHAT).encode(), headers=[header]))
    # The HTTP parser refuses it (400) or drops the connection; never a 5xx or an answer
    # that treated the injected line as a header of ours.
    assert code in (400, None) or code < 500, out
    assert b"Injected" not in out


async def test_content_length_lies(running: Running, http: aiohttp.ClientSession) -> None:
    body = json.dumps(CHAT).encode()
    # Shorter than the body: the rest is not JSON of this request -> 400 (truncated JSON).
    code, _ = await raw(running, request(running, body, length=len(body) - 5))
    assert code == 400
    # Longer than the body, then the client stops sending: no answer or a 4xx, never a 5xx.
    code, _ = await raw(running, request(running, body, length=len(body) + 100),
                        half_close=True)
    assert code is None or 400 <= code < 500
    for bad in ("-1", "abc", "1e3", "+5"):
        code, _ = await raw(running, request(running, body, length=None,
                                             headers=[]).replace(
            f"Content-Length: {len(body)}".encode(), f"Content-Length: {bad}".encode()))
        assert code is None or 400 <= code < 500
    # Both Content-Length and chunked (request smuggling): refused or read as one request.
    smuggle = request(running, b"0\r\n\r\n", headers=["Transfer-Encoding: chunked"])
    code, out = await raw(running, smuggle)
    assert code is None or 400 <= code < 500
    assert out.count(b"HTTP/1.1 ") <= 1
    # The gateway still serves normal traffic afterwards.
    status, _ = await post(http, running, body)
    assert status == 200
