"""A small OpenAI-compatible embeddings server for tests, serving real vectors over the real protocol.

It wraps the ``hash`` embedder, so retrieval over what it embeds works as with that backend. Like an e5
model it reads the "query: " / "passage: " prefixes rather than embedding them as text, and like many
servers it returns vectors that are not unit length, so the client must normalise. Every request is
recorded (with the key it came with); a model it does not serve is a 404, as vLLM answers; ``broken`` makes replies malformed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmkb.ingest.embeddings import HashEmbeddings

PREFIXES = ("query: ", "passage: ")


@dataclass
class EmbeddingServer:
    model: str = "intfloat/multilingual-e5-small"
    dimension: int = 64
    broken: bool = False
    requests: list[dict[str, object]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inputs(self) -> list[str]:
        """Every text sent, in arrival order."""
        return [text for body in self.requests for text in body["input"]]  # type: ignore[attr-defined]


def make_app(server: EmbeddingServer) -> FastAPI:
    app = FastAPI()
    embedder = HashEmbeddings(server.dimension)

    # A plain def runs in the thread pool, so concurrent requests overlap and ``most_in_flight`` shows it.
    @app.post("/v1/embeddings")
    def embeddings(body: dict[str, object], request: Request) -> Response:
        with server._lock:
            server.requests.append(body)
            server.keys.append(request.headers.get("authorization", ""))
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
        try:
            time.sleep(0.05)
            if body.get("model") != server.model:
                return JSONResponse(
                    {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                               "type": "NotFoundError", "code": 404}}, 404,
                )  # fmt: skip
            if server.broken:
                return JSONResponse({"object": "list", "data": [{"index": 0, "embedding": "nonsense"}]})
            texts = body["input"]
            assert isinstance(texts, list) and all(isinstance(t, str) for t in texts), texts
            vectors = embedder.embed_passages([_unprefixed(t) for t in texts]) * 3.0
            return JSONResponse({
                "object": "list", "model": server.model,
                "data": [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            })  # fmt: skip
        finally:
            with server._lock:
                server.in_flight -= 1

    return app


def _unprefixed(text: str) -> str:
    for prefix in PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
