"""HMAC-signed requests for keys that require them, through a router process with the
official openai SDK and the client snippet of docs/security.md (executed from the doc)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from aistrale_testkit.router.harness import Router

DOC = Path(__file__).parents[4] / "docs" / "security.md"
SECRET = "ss-test-signing-secret-0123456789"
BODY = {"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]}


def _snippet() -> dict[str, Any]:
    text = DOC.read_text()
    block = re.search(r"<!-- signing-client -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/security.md lost its signing client"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)
    return namespace


def _signed_key(router: Router) -> tuple[str, str]:
    key = router.new_key(signing_secret=SECRET)
    record = router.userorg.records[hashlib.sha256(key.encode()).hexdigest()]
    return key, record.key_id


def _headers(
    key_id: str,
    body: bytes,
    *,
    secret: str = SECRET,
    age_s: int = 0,
    path: str = "/v1/chat/completions",
) -> dict[str, str]:
    timestamp = str(int(time.time()) - age_s)
    digest = hashlib.sha256(body).hexdigest()
    message = f"{timestamp}\nPOST\n{path}\n{digest}".encode()
    return {
        "x-aistrale-key-id": key_id,
        "x-aistrale-timestamp": timestamp,
        "x-aistrale-content-sha256": digest,
        "x-aistrale-signature": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }


async def test_the_documented_client_signs_requests_the_router_accepts(router: Router) -> None:
    key, key_id = _signed_key(router)
    snippet = _snippet()
    signer = snippet["AistraleSigner"](key_id, SECRET)
    async with snippet["httpx"].AsyncClient(auth=signer, timeout=15) as http:
        client = openai.AsyncOpenAI(base_url=router.url + "/v1", api_key=key, http_client=http)
        answer = await client.chat.completions.create(
            model="chat-model", messages=[{"role": "user", "content": "signed"}]
        )
    assert answer.choices[0].message.content


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unsigned", "signature_required"),
        ("wrong_secret", "invalid_signature"),
        ("altered_body", "invalid_signature"),
        ("stale", "signature_expired"),
        ("other_key_id", "invalid_signature"),
    ],
)
async def test_bad_signatures_are_refused(router: Router, case: str, code: str) -> None:
    key, key_id = _signed_key(router)
    body = httpx.Request("POST", "http://x", json=BODY).content
    headers = {
        "unsigned": {},
        "wrong_secret": _headers(key_id, body, secret="ss-not-it"),
        "altered_body": _headers(key_id, body + b" "),
        "stale": _headers(key_id, body, age_s=6 * 60),
        "other_key_id": _headers("key_other", body),
    }[case]
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        answer = await http.post(
            "/v1/chat/completions",
            content=body,
            headers={
                "authorization": f"Bearer {key}",
                "content-type": "application/json",
                **headers,
            },
        )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == code


async def test_a_signed_request_is_accepted_once(router: Router) -> None:
    key, key_id = _signed_key(router)
    body = httpx.Request("POST", "http://x", json=BODY).content
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json",
               **_headers(key_id, body)}  # fmt: skip
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        first = await http.post("/v1/chat/completions", content=body, headers=headers)
        replay = await http.post("/v1/chat/completions", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "signature_replayed"


async def test_keys_without_a_secret_ignore_signature_headers(router: Router) -> None:
    key = router.new_key()
    body = httpx.Request("POST", "http://x", json=BODY).content
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        plain = await http.post(
            "/v1/chat/completions", content=body,
            headers={"authorization": f"Bearer {key}", "content-type": "application/json",
                     "x-aistrale-signature": "junk"},
        )  # fmt: skip
    assert plain.status_code == 200, plain.text


async def test_count_tokens_is_signed_as_every_post_is(router: Router) -> None:
    key, key_id = _signed_key(router)
    path = "/v1/messages/count_tokens"
    body = httpx.Request("POST", "http://x", json={"model": "chat-model", "messages": [
        {"role": "user", "content": "count me"}]}).content  # fmt: skip
    plain = {"x-api-key": key, "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        unsigned = await http.post(path, content=body, headers=plain)
        signing = {**plain, **_headers(key_id, body, path=path)}
        signed = await http.post(path, content=body, headers=signing)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["type"] == "authentication_error"
    assert "signed" in unsigned.json()["error"]["message"]
    assert signed.status_code == 200 and signed.json()["input_tokens"] > 0
