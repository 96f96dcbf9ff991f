"""The ``openai`` embedding backend against a loopback OpenAI-compatible embeddings server that serves
real (hashed) vectors: prefixes, batches and concurrency as configured, unit float32 vectors, the index's
record of the model, one-line errors, and ``crmkb ingest`` + an answer end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crmkb.cli.services import Services
from crmkb.core.settings import Settings, SettingsError, get_settings
from crmkb.ingest.embeddings import EmbeddingError, HashEmbeddings, make_embeddings
from crmkb.ingest.openai_embeddings import OpenAIEndpointEmbeddings, is_e5
from crmkb.web.loopback import free_port, serving
from tests.support.cli import invoke
from tests.support.fake_embeddings import EmbeddingServer, make_app
from tests.support.index import opened

E5 = "intfloat/multilingual-e5-small"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[str, EmbeddingServer]]:
    server = EmbeddingServer(model=E5)
    with serving(make_app(server)) as url:
        yield f"{url}/v1", server


@pytest.fixture
def server(endpoint: tuple[str, EmbeddingServer]) -> EmbeddingServer:
    endpoint[1].requests.clear()
    endpoint[1].keys.clear()
    endpoint[1].most_in_flight = 0
    endpoint[1].broken = False
    return endpoint[1]


def openai_settings(url: str, base: Settings | None = None, **embedding: object) -> Settings:
    dirs = {"data_dir": base.data_dir, "kb_dir": base.kb_dir} if base else {}
    return get_settings(**dirs, embedding={"backend": "openai", "base_url": url, "model": E5, **embedding})


def test_passages_go_in_batches_with_e5_prefixes_and_come_back_unit_length(
    endpoint: tuple[str, EmbeddingServer], server: EmbeddingServer
) -> None:
    embeddings = make_embeddings(openai_settings(endpoint[0], batch_size=3, concurrency=2).embedding)
    assert isinstance(embeddings, OpenAIEndpointEmbeddings)
    texts = [f"第{i}段:项目失败后先分析原因" for i in range(20)]

    vectors = embeddings.embed_passages(texts)

    assert [len(r["input"]) for r in server.requests] == [3, 3, 3, 3, 3, 3, 2]  # type: ignore[arg-type]
    assert sorted(server.inputs()) == sorted("passage: " + t for t in texts)
    assert server.most_in_flight == 2
    assert vectors.dtype == np.float32 and vectors.shape == (20, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors, HashEmbeddings().embed_passages(texts), atol=1e-6)  # and in order
    assert (embeddings.name, embeddings.dimension) == (f"openai/{E5}+e5", 64)

    server.requests.clear()
    question = embeddings.embed_query("项目失败后做什么")
    embeddings.embed_query("项目失败后做什么")
    assert server.inputs() == ["query: 项目失败后做什么"]  # once: the query cache
    assert np.isclose(np.linalg.norm(question), 1.0)


def test_prefixes_follow_the_model_name_unless_set(endpoint: tuple[str, EmbeddingServer]) -> None:
    assert is_e5("intfloat/multilingual-e5-large") and is_e5("e5-base-v2")
    assert not is_e5("BAAI/bge-m3") and not is_e5("text-embedding-3-small") and not is_e5("de5ign")
    plain = make_embeddings(get_settings(embedding={"backend": "openai", "base_url": endpoint[0],
                                                    "model": "BAAI/bge-m3"}).embedding)  # fmt: skip
    assert plain.name == "openai/BAAI/bge-m3"
    forced_off = make_embeddings(openai_settings(endpoint[0], e5_prefixes=False).embedding)
    assert forced_off.name == f"openai/{E5}"


def test_unprefixed_model_sends_plain_text(
    endpoint: tuple[str, EmbeddingServer], server: EmbeddingServer
) -> None:
    embeddings = make_embeddings(openai_settings(endpoint[0], e5_prefixes=False).embedding)
    embeddings.embed_passages(["实施顾问"])
    embeddings.embed_query("谁来实施")
    assert server.inputs() == ["实施顾问", "谁来实施"]


def test_configured_by_environment_sends_the_key_and_never_tokenizes(
    endpoint: tuple[str, EmbeddingServer], server: EmbeddingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken.registry

    for name, value in {"BACKEND": "openai", "BASE_URL": endpoint[0] + "/", "MODEL": "BAAI/bge-m3",
                        "API_KEY": "sk-local", "E5_PREFIXES": "true", "DIMENSION": "64"}.items():  # fmt: skip
        monkeypatch.setenv(f"CRMKB_EMBEDDING_{name}", value)
    server.model = "BAAI/bge-m3"
    try:
        loaded = set(tiktoken.registry.ENCODINGS)
        embeddings = make_embeddings(get_settings().embedding)
        embeddings.embed_passages(["实施顾问离开前"])
        assert embeddings.name == "openai/BAAI/bge-m3+e5"
        assert server.inputs() == ["passage: 实施顾问离开前"]  # the width was given: no probe
        assert server.keys == ["Bearer sk-local"]
        assert set(tiktoken.registry.ENCODINGS) == loaded
    finally:
        server.model = E5


def test_settings_are_checked_without_touching_the_network() -> None:
    with pytest.raises(SettingsError, match=r"CRMKB_EMBEDDING_BASE_URL: .*http://") as bad:
        get_settings(embedding={"backend": "openai", "base_url": "host:8080/v1", "model": E5})
    assert "\n" not in str(bad.value)
    with pytest.raises(EmbeddingError, match=r"CRMKB_EMBEDDING_BASE_URL .* CRMKB_EMBEDDING_MODEL"):
        make_embeddings(get_settings(embedding={"backend": "openai"}).embedding)
    with pytest.raises(SettingsError, match=r"CRMKB_EMBEDDING_API_KEY: .*not shown"):
        get_settings(embedding={"api_key": 5})
    # Built against a port nobody listens on: nothing is sent until a text is embedded.
    make_embeddings(openai_settings(f"http://127.0.0.1:{free_port()}/v1").embedding)


def test_an_unreachable_endpoint_is_one_line_saying_what_to_check(tmp_path: Path, settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    embeddings = make_embeddings(openai_settings(url, timeout_s=2).embedding)
    with pytest.raises(
        EmbeddingError, match=r"cannot reach the embeddings endpoint .*CRMKB_EMBEDDING_BASE_URL"
    ) as exc:
        embeddings.embed_query("项目失败后做什么")
    assert "\n" not in str(exc.value)

    result = invoke(Services(load_settings=lambda: openai_settings(url, settings, timeout_s=2)), "ingest")
    assert result.exit_code == 1
    assert "cannot reach" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the openai client, on the bad reply
def test_wrong_model_bad_reply_and_wrong_width_are_errors(
    endpoint: tuple[str, EmbeddingServer], server: EmbeddingServer
) -> None:
    wrong = make_embeddings(openai_settings(endpoint[0], model="no-such-model").embedding)
    with pytest.raises(
        EmbeddingError, match=r"refused model 'no-such-model' \(HTTP 404.*CRMKB_EMBEDDING_MODEL"
    ):
        wrong.embed_passages(["项目"])
    narrow = make_embeddings(openai_settings(endpoint[0], dimension=32).embedding)
    with pytest.raises(EmbeddingError, match="64-dimensional vectors, 32 expected"):
        narrow.embed_passages(["项目"])
    server.broken = True
    broken = make_embeddings(openai_settings(endpoint[0]).embedding)
    with pytest.raises(EmbeddingError, match="embeddings endpoint") as exc:
        broken.embed_passages(["项目", "实施"])
    assert "\n" not in str(exc.value)


def test_ingest_and_answer_end_to_end_and_the_index_records_the_model(
    endpoint: tuple[str, EmbeddingServer], server: EmbeddingServer, settings: Settings
) -> None:
    hashed = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"backend": "hash"})}
    )
    assert invoke(Services(load_settings=lambda: hashed), "ingest", "--json").exit_code == 0

    # Hashed vectors never reach the similarity calibrated for e5, so the bar is lowered to let one through.
    remote = openai_settings(endpoint[0], settings, batch_size=8, concurrency=3).model_copy(
        update={"answer": settings.answer.model_copy(update={"min_dense": 0.3})}
    )
    services = Services(load_settings=lambda: remote)
    refused = invoke(services, "ingest")
    assert refused.exit_code == 1 and "--rebuild" in refused.stderr
    assert "hash/char-bigrams" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    server.requests.clear()
    result = invoke(services, "ingest", "--rebuild", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["published"] and report["embedded"] == report["chunks"]
    assert all(len(r["input"]) <= 8 for r in server.requests)  # type: ignore[arg-type]
    assert all(t.startswith("passage: ") for t in server.inputs()[1:])  # after the width probe
    assert 1 < server.most_in_flight <= 3
    _, version = opened(remote)
    assert (version.embedder, version.dimension) == (f"openai/{E5}+e5", 64)

    server.requests.clear()
    answered = invoke(services, "ask", "--json", "CRM项目团队应该包括哪些人?")
    assert answered.exit_code == 0, answered.stderr
    answer = json.loads(answered.stdout)
    assert answer["answerable"] and answer["citations"][0]["source"] == "002_9683dd2b55d1bf3e.txt"
    assert "query: CRM项目团队应该包括哪些人?" in server.inputs()

    back = invoke(Services(load_settings=lambda: hashed), "ingest")
    assert back.exit_code == 1 and f"openai/{E5}+e5" in back.stderr
