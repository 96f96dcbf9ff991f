"""The limits in front of /api/*, as an attacker would probe them: rotating keys, forged forwarding
headers, key guessing, and several worker processes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.app import create_app
from crmkb.web.loopback import serving
from tests.support.serve_process import crmkb_serve

SOURCE = "/api/sources/x.txt?start=0&end=1"  # a cheap guarded request: 404 when allowed, 429 when not


@contextmanager
def server(hash_index: Settings, tmp_path: Path, **options: object) -> Iterator[str]:
    """A fresh app over the shared index, with its own data dir (so its own counts)."""
    data = tmp_path / "data"
    shutil.copytree(hash_index.data_dir, data)
    settings = hash_index.model_copy(
        update={"data_dir": data, "server": ServerSettings.model_validate(options)}
    )
    with serving(create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))) as url:
        yield url


def codes(url: str, n: int, headers: list[dict[str, str]] | None = None) -> list[int]:
    return [httpx.get(url + SOURCE, headers=(headers or [{}] * n)[i]).status_code for i in range(n)]


def test_rotating_the_key_header_does_not_escape_the_limit(hash_index: Settings, tmp_path: Path) -> None:
    with server(hash_index, tmp_path, rate_limit=3) as url:
        rotating = [{"X-API-Key": f"made-up-{i}"} for i in range(5)]
        assert codes(url, 5, rotating) == [404, 404, 404, 429, 429]


def test_with_a_key_clients_behind_a_trusted_proxy_get_their_own_buckets(
    hash_index: Settings, tmp_path: Path
) -> None:
    key = {"X-API-Key": "s3cret"}
    with server(
        hash_index, tmp_path, rate_limit=2, api_key=SecretStr("s3cret"), trusted_proxies=["127.0.0.1"]
    ) as url:
        alice = [{**key, "X-Forwarded-For": "203.0.113.7"}] * 3
        bob = [{**key, "X-Forwarded-For": "198.51.100.9, 127.0.0.1"}] * 3  # the proxy appended itself
        assert codes(url, 3, alice) == [404, 404, 429]
        assert codes(url, 3, bob) == [404, 404, 429]
        forged = [{**key, "X-Forwarded-For": "203.0.113.7, 198.51.100.200"}]  # left-most hops are not trusted
        assert codes(url, 1, forged) == [404]


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(hash_index: Settings, tmp_path: Path) -> None:
    with server(hash_index, tmp_path, rate_limit=2) as url:
        spoofed = [{"X-Forwarded-For": f"192.0.2.{i}"} for i in range(4)]
        assert codes(url, 4, spoofed) == [404, 404, 429, 429]


def test_key_guessing_is_limited_even_for_the_right_key_after(hash_index: Settings, tmp_path: Path) -> None:
    with server(hash_index, tmp_path, rate_limit=0, api_key=SecretStr("s3cret"), auth_failures=3) as url:
        guesses = [{"X-API-Key": f"guess-{i}"} for i in range(5)]
        assert codes(url, 5, guesses) == [401, 401, 401, 429, 429]
        blocked = httpx.get(url + SOURCE, headers={"X-API-Key": "s3cret"})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        assert "wrong API keys" in blocked.json()["detail"]


def test_guards_run_before_the_body_is_read(hash_index: Settings, tmp_path: Path) -> None:
    """A malformed body from a client without the key is a 401, not a free 422, and counts to the limit."""
    with server(hash_index, tmp_path, rate_limit=3, api_key=SecretStr("s3cret"), auth_failures=100) as url:
        bad = {"Content-Type": "application/json"}
        assert httpx.post(f"{url}/api/ask", content=b"{not json", headers=bad).status_code == 401
        keyed = {**bad, "X-API-Key": "s3cret"}
        statuses = [
            httpx.post(f"{url}/api/ask", content=b"{not json", headers=keyed).status_code for _ in range(4)
        ]
        assert statuses == [422, 422, 422, 429]


def test_a_server_that_cannot_count_still_serves(hash_index: Settings, tmp_path: Path) -> None:
    with server(hash_index, tmp_path, rate_limit=2) as url:
        counts = tmp_path / "data" / "ratelimit.sqlite3"
        for path in counts.parent.glob("ratelimit.sqlite3*"):
            path.unlink()
        counts.mkdir()  # the store cannot be opened: limits are off, answers are not
        assert set(codes(url, 4)) == {404}


@pytest.mark.slow
def test_the_limit_holds_across_the_worker_processes_of_one_server(
    real_index: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(real_index.data_dir, data, ignore=shutil.ignore_patterns("*.sqlite3*", ".ingest.lock"))
    env = {
        "CRMKB_DATA_DIR": str(data),
        "CRMKB_KB_DIR": str(real_index.kb_dir),
        "CRMKB_SERVER_RATE_LIMIT": "6",
    }
    with crmkb_serve(env, tmp_path / "serve.log", "--workers", "2", ready="/readyz") as served:
        # A new connection per request, so the kernel hands them to both workers.
        results = [
            httpx.get(served.url + SOURCE, headers={"Connection": "close"}).status_code for _ in range(14)
        ]
    assert results.count(404) == 6 and results.count(429) == 8
