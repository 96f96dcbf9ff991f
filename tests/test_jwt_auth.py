"""Who is asking: signed user tokens on /api/*, as a host page sends them and as an attacker forges them,
HS256 with a site secret and RS256 against a JWKS served on loopback; the user as the rate-limit key and
in the feedback store; the API key for servers; the origin allowlist."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from crmkb.bot.service import Bot
from crmkb.core.settings import JWTSettings, ServerSettings, Settings, SettingsError, get_settings
from crmkb.feedback_store import _TABLES, FeedbackStore
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.app import FEEDBACK_DB, create_app
from tests.support.tokens import ISSUER, SECRET, JWKSServer, KeyPair, hs256, jwks_server, unsigned

SOURCE = "/api/sources/x.txt?start=0&end=1"  # a cheap guarded request: 404 when admitted
QUESTION = "CRM项目团队应该包括哪些人?"


@pytest.fixture(scope="module")
def idp() -> Iterator[JWKSServer]:
    with jwks_server(KeyPair("idp-2026a"), KeyPair("idp-2026b")) as served:
        yield served


@pytest.fixture
def app_with(hash_index: Settings, tmp_path: Path) -> Callable[..., Any]:
    """A TestClient of a fresh app over the shared index (own data dir, so own counts and feedback)."""

    @contextmanager
    def make(jwt: dict[str, Any], **server: Any) -> Iterator[TestClient]:
        data = tmp_path / "data"
        shutil.copytree(hash_index.data_dir, data, dirs_exist_ok=True)
        settings = hash_index.model_copy(update={
            "data_dir": data, "server": ServerSettings.model_validate({"rate_limit": 0, **server}),
            "jwt": JWTSettings.model_validate({"mode": "required", "issuers": [ISSUER], **jwt}),
        })  # fmt: skip
        with TestClient(create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))) as client:
            yield client

    return make


HS = {"secrets": {ISSUER: SECRET}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(client: TestClient, token: str | None, detail: str) -> None:
    response = client.get(SOURCE, headers=bearer(token) if token else {})
    assert response.status_code == 401, response.text
    assert detail in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_hs256_site_secret(app_with: Callable[..., Any]) -> None:
    with app_with(HS) as client:
        assert client.get(SOURCE, headers=bearer(hs256())).status_code == 404  # admitted, then not found
        refused(client, None, "missing token")
        refused(client, hs256(lifetime=-120), "expired")  # past the 30 s leeway
        refused(client, hs256(secret="another-site-secret-" * 3), "signature is not valid")
        refused(client, hs256(aud="some-other-service"), "not meant for this service")
        refused(client, hs256(iss="portal"), "no site secret")  # iss picks the secret: none for portal
        refused(client, unsigned(), "algorithm 'none' is not accepted")
        refused(client, hs256(lifetime=86_400), "lives too long")
        refused(client, "not.a.jwt", "not a well-formed JWT")
        basic = client.get(SOURCE, headers={"Authorization": "Basic YTpi"})  # a proxy's sign-in, not ours
        assert basic.status_code == 401 and "missing token" in basic.json()["detail"]


def test_hs256_secrets_by_kid_rotate_and_issuers_are_checked(app_with: Callable[..., Any]) -> None:
    secrets = {"intranet-2026a": SECRET, "intranet-2026b": SECRET[::-1]}
    with app_with({"secrets": secrets}) as client:
        for kid, secret in secrets.items():
            assert client.get(SOURCE, headers=bearer(hs256(kid=kid, secret=secret))).status_code == 404
        refused(client, hs256(kid="intranet-2026a", secret=SECRET[::-1]), "signature is not valid")
        refused(client, hs256(kid="intranet-2026a", iss="portal"), "issuer is not accepted")
        refused(client, hs256(), "no site secret")  # no kid, and no secret is named after the iss


def test_rs256_against_a_jwks(app_with: Callable[..., Any], idp: JWKSServer) -> None:
    a, b = idp.keys
    with app_with({"jwks_url": idp.url}) as client:
        assert client.get(SOURCE, headers=bearer(a.sign())).status_code == 404
        assert client.get(SOURCE, headers=bearer(b.sign())).status_code == 404
        refused(client, None, "missing token")
        refused(client, a.sign(lifetime=-120), "expired")
        refused(client, KeyPair(a.kid).sign(), "signature is not valid")  # a forger's key under a's kid
        refused(client, a.sign(aud="some-other-service"), "not meant for this service")
        refused(client, a.sign(iss="portal"), "issuer is not accepted")
        refused(client, a.sign(kid="unknown-kid"), "no key in the JWKS")
        refused(client, unsigned(), "algorithm 'none' is not accepted")
        # An HS256 token "signed" with the public key: no secret is configured, so no HS256 at all.
        refused(client, hs256(secret="x" * 40), "algorithm 'HS256' is not accepted")


def test_the_jwks_is_cached(app_with: Callable[..., Any], idp: JWKSServer) -> None:
    with app_with({"jwks_url": idp.url}) as client:
        before = idp.fetches
        for _ in range(5):
            assert client.get(SOURCE, headers=bearer(idp.keys[0].sign())).status_code == 404
        assert idp.fetches - before == 1


def test_an_unreachable_jwks_is_a_503_not_a_401(app_with: Callable[..., Any]) -> None:
    with jwks_server() as gone:
        url = gone.url
    with app_with({"jwks_url": url, "jwks_timeout_s": 2}) as client:
        response = client.get(SOURCE, headers=bearer(KeyPair("k").sign()))
        assert response.status_code == 503 and "CRMKB_JWT_JWKS_URL" in response.json()["detail"]


def test_the_api_key_still_admits_servers(app_with: Callable[..., Any]) -> None:
    with app_with(HS, api_key=SecretStr("s3cret")) as client:
        assert client.get(SOURCE, headers={"X-API-Key": "s3cret"}).status_code == 404  # no token needed
        assert client.get(SOURCE, headers=bearer(hs256())).status_code == 404  # no key needed
        wrong = client.get(SOURCE, headers={"X-API-Key": "nope", **bearer(hs256())})
        assert wrong.status_code == 401 and "API key" in wrong.json()["detail"]
        bare = client.get(SOURCE)
        assert bare.status_code == 401 and "missing token" in bare.json()["detail"]
        assert "X-API-Key" in bare.json()["detail"]


def test_optional_mode_verifies_tokens_that_are_sent(app_with: Callable[..., Any]) -> None:
    with app_with({"mode": "optional", **HS}) as client:
        assert client.get(SOURCE).status_code == 404  # anonymous
        assert client.get(SOURCE, headers=bearer(hs256())).status_code == 404
        refused(client, hs256(lifetime=-120), "expired")


def test_the_user_is_the_rate_limit_key(app_with: Callable[..., Any]) -> None:
    with app_with(HS, rate_limit=2) as client:  # every request comes from the same address
        alice, bob = bearer(hs256("alice")), bearer(hs256("bob"))
        assert [client.get(SOURCE, headers=alice).status_code for _ in range(3)] == [404, 404, 429]
        assert [client.get(SOURCE, headers=bob).status_code for _ in range(3)] == [404, 404, 429]


def test_forged_tokens_count_as_wrong_secrets(app_with: Callable[..., Any]) -> None:
    with app_with(HS, auth_failures=3) as client:
        forged = bearer(hs256(secret="guess" * 8))
        assert [client.get(SOURCE, headers=forged).status_code for _ in range(4)] == [401, 401, 401, 429]
        assert client.get(SOURCE, headers=bearer(hs256())).status_code == 429  # locked out for the minute


def test_expired_tokens_do_not_lock_a_user_out(app_with: Callable[..., Any]) -> None:
    with app_with(HS, auth_failures=2) as client:
        for _ in range(4):
            refused(client, hs256(lifetime=-120), "expired")
        assert client.get(SOURCE, headers=bearer(hs256())).status_code == 404


def test_pages_outside_the_origin_allowlist_are_refused(app_with: Callable[..., Any]) -> None:
    with app_with(HS, cors_origins=["https://intranet.example"]) as client:
        token = bearer(hs256())
        assert client.get(SOURCE, headers={"Origin": "https://intranet.example", **token}).status_code == 404
        assert client.get(SOURCE, headers={"Origin": "http://testserver", **token}).status_code == 404  # own
        evil = client.get(SOURCE, headers={"Origin": "https://evil.example", **token})
        assert evil.status_code == 403 and "CRMKB_SERVER_CORS_ORIGINS" in evil.json()["detail"]


def test_admin_sign_in_needs_no_user_token(app_with: Callable[..., Any]) -> None:
    with app_with(HS) as client:
        assert client.get("/api/admin/session").json()["enabled"] is False


def test_the_user_is_stored_with_the_answer_and_the_rating(app_with: Callable[..., Any]) -> None:
    with app_with(HS) as client:
        store: FeedbackStore = client.app.state.store
        alice = bearer(hs256("alice"))
        answer = client.post("/api/ask", json={"question": QUESTION}, headers=alice).json()
        with client.stream("POST", "/api/ask/stream", json={"question": QUESTION}, headers=alice) as r:
            lines = list(r.iter_lines())  # to the end: the answer is queued for recording before `done`
        meta = json.loads(next(line for line in lines if '"answer_id"' in line).removeprefix("data:"))
        assert client.app.state.writer.flush(timeout=10)  # answers are written off the request path
        assert store.asked_by(answer["id"]) == "alice"
        assert store.asked_by(meta["answer_id"]) == "alice"

        rate = {"answer_id": answer["id"], "rating": "up", "rater": "browser-one"}
        assert client.post("/api/feedback", json=rate, headers=alice).status_code == 201
        # The same user from another browser replaces their rating: one user, one vote.
        again = {**rate, "rating": "down", "rater": "browser-two"}
        assert client.post("/api/feedback", json=again, headers=alice).status_code == 201
        rows = store.feedback()
        assert [(r.rating, r.user_id, r.rater) for r in rows] == [("down", "alice", "user:alice")]


def test_an_old_feedback_database_gains_user_ids_in_place(tmp_path: Path) -> None:
    path = tmp_path / FEEDBACK_DB
    old = sqlite3.connect(path)
    for statement in _TABLES:  # the schema before users were known (user_id comes by migration only)
        old.execute(statement)
    old.execute("INSERT INTO answers VALUES ('a1', 0, 'web', 'q', 'a', 1, 'zh-Hans', 'extractive', '[]')")
    old.execute(
        "INSERT INTO feedback (created, answer_id, rating, channel, rater) VALUES (0, 'a1', 'up', 'web', 'x')"
    )
    old.commit()
    old.close()
    store = FeedbackStore(path)
    FeedbackStore(path)  # a second start (another worker) migrates nothing twice
    assert store.asked_by("a1") is None and store.feedback()[0].user_id is None  # kept, anonymous
    store.rate("a1", "down", rater="x", user_id="carol")
    assert [(r.rating, r.user_id) for r in store.feedback()] == [("down", "carol")]


def test_settings_say_what_is_missing() -> None:
    with pytest.raises(SettingsError, match="CRMKB_JWT_ISSUERS is empty"):
        get_settings(jwt={"mode": "required", "secrets": {"a": SECRET}})
    with pytest.raises(SettingsError, match="no key to verify tokens with"):
        get_settings(jwt={"mode": "required", "issuers": ["a"]})
    with pytest.raises(SettingsError, match="too weak") as weak:
        get_settings(jwt={"mode": "required", "issuers": ["a"], "secrets": {"a": "hunter2"}})
    assert "hunter2" not in str(weak.value)
    with pytest.raises(SettingsError, match="https://"):
        get_settings(jwt={"mode": "required", "issuers": ["a"], "jwks_url": "http://idp.example/jwks"})
    assert get_settings().jwt.mode == "off"  # off unless asked for


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMKB_JWT_MODE", "required")
    monkeypatch.setenv("CRMKB_JWT_ISSUERS", "intranet,portal")
    monkeypatch.setenv("CRMKB_JWT_SECRETS", f'{{"intranet": "{SECRET}"}}')
    jwt = get_settings().jwt
    assert jwt.issuers == ["intranet", "portal"] and jwt.secrets["intranet"].get_secret_value() == SECRET
