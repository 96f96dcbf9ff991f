"""A published curated answer to edit, built from the knowledge base's own sentences (so it holds whatever
embedder indexed them), and admin sign-in for the editor's tests."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from crmkb.bot import curated
from crmkb.bot.knowledge import Knowledge
from crmkb.bot.schemas import Answer, Citation
from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings

TOKEN = "test-admin-token-0123456789abcdef"
QUESTION = "项目预算中软件成本占多少?"
BUDGET = "典型的项目的预算成本中软件成本占三分之一,咨询、实施和培训成本占三分之二。"
COST = "成本是最主要的因素之一。"
GROUNDED = "典型项目的预算中,软件成本占三分之一。[1]"  # kept to quote [1]
INVENTED = "软件成本只占预算的一成,其余都花在硬件上。"  # what quote [1] does not say


def cited(knowledge: Knowledge, n: int, quote: str) -> Citation:
    """A citation of ``quote`` where the knowledge base holds it, as the bot would cite it."""
    source, document = next((s, d) for s, d in knowledge.documents.items() if quote in d.text)
    start = document.text.index(quote)
    section = knowledge.section_at(source, start)
    title_en, section_en = knowledge.english(source, section)
    return Citation(n=n, source=source, title=document.title, section=section, kind=document.kind, quote=quote,
                    start=start, end=start + len(quote), score=0.9, title_en=title_en, section_en=section_en)  # fmt: skip


def publish_budget_answer(bot: Bot) -> Answer:
    """Publish the budget question's curated answer (two citations, cited 2 then 1), as `faq publish` does."""
    knowledge = bot.load().knowledge
    answer = Answer(question=QUESTION, answer=f"{COST}[2]{BUDGET}[1]", answerable=True, language="zh-Hans",
                    mode="extractive", citations=[cited(knowledge, 1, BUDGET), cited(knowledge, 2, COST)])  # fmt: skip
    curated.publish(bot.settings.data_dir, bot.embeddings, [answer])
    return answer


def with_admin(settings: Settings, **server: object) -> Settings:
    options = {"rate_limit": 0, "admin_token": SecretStr(TOKEN), **server}
    return settings.model_copy(update={"server": ServerSettings.model_validate(options)})


def sign_in(client: httpx.Client, token: str = TOKEN) -> str:
    """Sign ``client`` in (it keeps the cookie); returns the session's CSRF token."""
    response = client.post("/api/admin/session", json={"token": token})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf
