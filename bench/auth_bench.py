"""What checking who is asking costs each /api/* call, beside the same call with no check, in one run.

Rows, each over a real uvicorn on loopback (one client, a cheap guarded call: GET /api/sources/… → 404,
so the guards are most of the work):
  * baseline: JWT mode off, no API key;
  * the shared API key (X-API-Key);
  * an HS256 user token (a site secret);
  * an RS256 user token (a key from a JWKS served on loopback; fetched once, then cached).
Then the token check alone, in-process, for HS256 and RS256.

Usage: python bench/auth_bench.py [--requests 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from crmkb.bot.service import Bot
from crmkb.core.settings import JWTSettings, ServerSettings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.web.app import create_app
from crmkb.web.jwt_auth import TokenVerifier
from crmkb.web.loopback import serving

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.tokens: the same signing a host page's server does
from tests.support.tokens import ISSUER, SECRET, KeyPair, hs256, jwks_server  # noqa: E402

PATH = "/api/sources/x.txt?start=0&end=1"


def timed(call: Callable[[], Any], n: int) -> list[float]:
    call()  # warm: connections, caches, the JWKS fetch
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(name: str, times: list[float]) -> None:
    p50, p95 = statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1]
    print(f"{name:<34} p50 {p50:7.3f} ms   p95 {p95:7.3f} ms   {1000 / statistics.mean(times):8.0f}/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    n = parser.parse_args(argv).requests
    key = KeyPair("bench")
    with tempfile.TemporaryDirectory() as tmp, jwks_server(key) as idp:
        settings = get_settings(data_dir=Path(tmp), kb_dir=ROOT / "kb")
        run_ingest(settings, embeddings=HashEmbeddings())
        tokens = JWTSettings.model_validate(
            {"mode": "required", "issuers": [ISSUER], "secrets": {ISSUER: SECRET}, "jwks_url": idp.url}
        )
        cases: list[tuple[str, dict[str, Any], dict[str, str]]] = [
            ("baseline: no check", {}, {}),
            ("API key", {"server": ServerSettings(rate_limit=0, api_key=SecretStr("k" * 32))}, {"X-API-Key": "k" * 32}),
            ("HS256 token (site secret)", {"jwt": tokens}, {"Authorization": f"Bearer {hs256()}"}),
            ("RS256 token (JWKS, cached)", {"jwt": tokens}, {"Authorization": f"Bearer {key.sign()}"}),
        ]  # fmt: skip
        print(f"GET {PATH} over HTTP, 1 client, {n} requests each")
        for name, update, headers in cases:
            configured = settings.model_copy(update={"server": ServerSettings(rate_limit=0), **update})
            app = create_app(configured, bot=Bot(configured, embeddings=HashEmbeddings()))
            with serving(app) as url, httpx.Client(base_url=url) as client:
                assert client.get(PATH, headers=headers).status_code == 404, name  # admitted
                row(name, timed(lambda c=client, h=headers: c.get(PATH, headers=h), n))  # type: ignore[misc]
        print(f"\nthe token check alone, in-process, {n * 5} checks each")
        verifier = TokenVerifier(tokens)
        for name, token in (("HS256", hs256()), ("RS256", key.sign())):
            row(name, timed(lambda t=token: verifier.verify(t), n * 5))  # type: ignore[misc]
        print(f"\nJWKS fetches during the run: {idp.fetches}")


if __name__ == "__main__":
    main()
