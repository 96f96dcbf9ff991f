"""A small OpenAI-compatible chat server for tests: scripted replies over the real HTTP protocol.

Each reply is a function of the prompt the server received (so a test can script "quote passage [1]")
with an optional delay and HTTP status; requests are recorded for assertions. Streams as SSE when asked.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse


@dataclass
class Reply:
    content: Callable[[str], str]
    delay: float = 0.0
    status: int = 200


@dataclass
class Script:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, object]] = field(default_factory=list)

    def then(self, content: str | Callable[[str], str], *, delay: float = 0.0, status: int = 200) -> Script:
        fixed = content if isinstance(content, str) else None
        make: Callable[[str], str] = content if callable(content) else (lambda _prompt: fixed or "")
        self.replies.append(Reply(make, delay, status))
        return self


def passage(prompt: str, n: int) -> str:
    """The text of passage [n] in a prompt built from prompts/user.md."""
    match = re.search(rf"^\[{n}\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nQuestion: )", prompt, re.S | re.M)
    if not match:
        raise AssertionError(f"no passage [{n}] in the prompt")
    return match.group(1)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[。!?])", text.strip(), maxsplit=1)[0]


def make_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Response:
        body = await request.json()
        script.requests.append(body)
        reply = script.replies.pop(0)
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": "scripted failure", "type": "server_error"}}, reply.status
            )
        content = reply.content(prompt)
        model = body.get("model", "fake")
        if body.get("stream"):
            return StreamingResponse(_sse(content, model), media_type="text/event-stream")
        return JSONResponse({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })  # fmt: skip

    return app


async def _sse(content: str, model: str) -> AsyncIterator[str]:
    def event(delta: dict[str, str], finish: str | None) -> str:
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""}, None)
    for i in range(0, len(content), 8):
        yield event({"content": content[i : i + 8]}, None)
    yield event({}, "stop")
    yield "data: [DONE]\n\n"
