"""A trainer's curated answer published for the real bot, for the channel tests: the answer cites the
entry's last citation first and its second next (the "4, 2" of issue 14), and leaves the others uncited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crmkb.bot.curated import CuratedAnswers, publish
from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot

PUBLISHED_QUESTION = "CRM项目团队应该包括哪些人?"
TRAINER_TEXT = "项目团队要请管理高层参与,业务部门也要有人。[{last}]预算里软件成本大约占三分之一。[2]"


def trainer_answer(bot: Bot) -> Answer:
    """Citations of two real answers (verbatim quotes), numbered 1…n; the trainer's text cites n, then 2."""
    citations = [*bot.ask(PUBLISHED_QUESTION).citations, *bot.ask("项目预算中软件成本占多少?").citations]
    citations = [c.model_copy(update={"n": n}) for n, c in enumerate(citations, 1)]
    assert len(citations) >= 3
    return Answer(question=PUBLISHED_QUESTION, answer=TRAINER_TEXT.format(last=len(citations)), answerable=True,
                  language="zh-Hans", mode="extractive", citations=citations)  # fmt: skip


@contextmanager
def curated_for(bot: Bot, folder: Path) -> Iterator[Answer]:
    """``bot`` serves the trainer's answer from ``folder`` while the block runs; its own published set
    (shared with other tests) is put back afterwards."""
    answer = trainer_answer(bot)
    before = bot.curated
    bot.curated = CuratedAnswers(folder, bot.embeddings)
    publish(folder, bot.embeddings, [answer])
    try:
        yield answer
    finally:
        bot.curated = before
