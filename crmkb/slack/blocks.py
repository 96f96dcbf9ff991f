"""Answers as Block Kit messages, within Slack's limits and with every piece of text escaped.

Escaping &, < and > in KB text and echoed questions means nothing a user or an article writes can become
``<!channel>``, a user ping or a link. Sections hold at most 3,000 characters and a message at most 50
blocks; what does not fit is split or trimmed with "…", never refused.
"""

from __future__ import annotations

from typing import Any

from crmkb.bot.render import as_read, curated_badge, place
from crmkb.bot.schemas import Answer, Citation
from crmkb.ingest.catalog import kind_label

SECTION_LIMIT = 3000
BLOCK_LIMIT = 50
QUOTE_EXCERPT = 280
FEEDBACK_UP, FEEDBACK_DOWN, SHARE = "crmkb_feedback_up", "crmkb_feedback_down", "crmkb_share"

Block = dict[str, Any]

_LABELS = {
    "zh-Hans": {"up": "有帮助", "down": "没帮助",
                "share": "分享到频道", "topics": "知识库涵盖的相关主题",
                "covers": "知识库里的文章", "more": "还有 {n} 条引用"},
    "zh-Hant": {"up": "有幫助", "down": "沒幫助",
                "share": "分享到頻道", "topics": "知識庫涵蓋的相關主題",
                "covers": "知識庫裡的文章", "more": "還有 {n} 條引用"},
    "en": {"up": "Helpful", "down": "Not helpful",
           "share": "Share in channel", "topics": "Related topics the knowledge base covers",
           "covers": "Articles in the knowledge base", "more": "{n} more citations"},
}  # fmt: skip


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def labels(language: str) -> dict[str, str]:
    return _LABELS.get(language, _LABELS["en"])


def trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sections(text: str) -> list[Block]:
    """``text`` in section blocks of at most SECTION_LIMIT characters, split at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if len(current) + len(line) > SECTION_LIMIT and current:
            parts.append(current)
            current = ""
        current += line
        while len(current) > SECTION_LIMIT:
            parts.append(current[: SECTION_LIMIT - 1] + "…")
            current = current[SECTION_LIMIT - 1 :]
    if current.strip():
        parts.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part.rstrip("\n")}} for part in parts]


def citation_block(citation: Citation, language: str) -> Block:
    where = place(citation, language)  # an English asker reads the catalog's English titles
    badge = kind_label(citation.kind, language) or citation.kind
    quote = trim(" ".join(as_read(citation.quote, language).split()), QUOTE_EXCERPT)
    text = f"*[{citation.n}]* {escape(where)} · _{escape(badge)}_\n“{escape(quote)}”"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": trim(text, SECTION_LIMIT)}]}


def buttons(answer: Answer, *, share: bool) -> Block:
    words = labels(answer.language)
    elements = [
        {"type": "button", "action_id": FEEDBACK_UP, "value": answer.id,
         "text": {"type": "plain_text", "text": f"👍 {words['up']}", "emoji": True}},
        {"type": "button", "action_id": FEEDBACK_DOWN, "value": answer.id,
         "text": {"type": "plain_text", "text": f"👎 {words['down']}", "emoji": True}},
    ]  # fmt: skip
    if share:
        elements.append({"type": "button", "action_id": SHARE, "value": answer.id, "style": "primary",
                         "text": {"type": "plain_text", "text": words["share"]}})  # fmt: skip
    return {"type": "actions", "block_id": f"crmkb_{answer.id}", "elements": elements}


def answer_message(answer: Answer, *, share: bool = False) -> tuple[str, list[Block]]:
    """The notification text and the blocks of ``answer`` (a refusal lists nearby topics instead)."""
    words = labels(answer.language)
    text = escape(answer.answer)
    if not answer.answerable and answer.topics:  # the refusal's message, then the topics as a list
        text = escape(answer.refusal_message)
        lead = words["covers" if answer.replied else "topics"]
        text += f"\n*{escape(lead)}*\n" + "\n".join(f"• {escape(t)}" for t in answer.topics)
    badge: list[Block] = []
    if answer.curated:  # a trainer reviewed this answer: said above it, in the asker's language
        badge = [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"✅ *{curated_badge(answer.language)}*"}],
            }
        ]
    # room for at least a "more citations" note and the buttons
    blocks = badge + sections(text)[: BLOCK_LIMIT - 2 - len(badge)]
    room = BLOCK_LIMIT - len(blocks) - 1
    cited = [citation_block(c, answer.language) for c in answer.citations]
    if len(cited) > room:
        hidden = len(cited) - (room - 1)
        note = {"type": "context", "elements": [{"type": "mrkdwn", "text": words["more"].format(n=hidden)}]}
        cited = [*cited[: room - 1], note]
    # a reply to a greeting or thanks has nothing to rate or share
    blocks = blocks + cited + ([] if answer.replied else [buttons(answer, share=share)])
    return trim(text, SECTION_LIMIT), blocks
