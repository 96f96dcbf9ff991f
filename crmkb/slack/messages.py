"""Every line the Slack app says to people about itself (answers are rendered in ``blocks``).

Lines that follow a question are in the asker's language, read from the question (or the answer's), so a
Chinese asker is told why there is no answer in Chinese. What is wrong inside the system (a store address,
an index path, the command that fixes it) is for the log, not for the asker, who can do nothing with it.
"""

from __future__ import annotations

from crmkb.bot.language import detect_language, reply_language

USAGE = (
    "用法:`/crm 你的问题`,或在频道里 @我 并写下问题,例如 `/crm 项目失败后第一步做什么?`"
    "(简体、繁體或 English 均可)。\n"
    "Usage: `/crm your question`, or mention me with your question in a channel, e.g. "
    "`/crm What should we settle before the consultant leaves?`"
)
GONE = "This answer is no longer on record."
UNSTORED = "Ratings cannot be stored right now; please try again shortly."

_LINES: dict[str, dict[str, str]] = {
    "trouble": {
        "zh-Hans": "暂时无法回答:{detail}",
        "zh-Hant": "暫時無法回答:{detail}",
        "en": "Cannot answer right now: {detail}",
    },
    "unavailable": {
        "zh-Hans": "知识库暂时不可用,已记录,请稍后再问",
        "zh-Hant": "知識庫暫時無法使用,已記錄,請稍後再問",
        "en": "the knowledge base is unavailable (logged); please ask again shortly",
    },
    "too_long": {
        "zh-Hans": "问题太长了,请缩短到 {limit} 个字符以内再问",
        "zh-Hant": "問題太長了,請縮短到 {limit} 個字元以內再問",
        "en": "the question is too long; keep it under {limit} characters",
    },
    "internal": {
        "zh-Hans": "内部错误,已记录,请稍后再问",
        "zh-Hant": "內部錯誤,已記錄,請稍後再問",
        "en": "an internal error (logged); please ask again shortly",
    },
    "late": {
        "zh-Hans": "{seconds:g} 秒内没有得到答案,请稍后再问",
        "zh-Hant": "{seconds:g} 秒內沒有得到答案,請稍後再問",
        "en": "no answer within {seconds:g} s; please ask again shortly",
    },
    "refused": {
        "zh-Hans": "Slack 没有接受这条回答({error})",
        "zh-Hant": "Slack 沒有接受這條回答({error})",
        "en": "Slack refused the answer ({error})",
    },
    "thanks": {"zh-Hans": "谢谢你的反馈。", "zh-Hant": "謝謝你的回饋。", "en": "Thanks for the feedback."},
    # chat:write.public lets the app post in any public channel; a private one must invite it first.
    "invite": {
        "zh-Hans": "我不在这个频道里,无法分享。请在频道里输入 `/invite @crmkb`,再点一次“分享到频道”。",
        "zh-Hant": "我不在這個頻道裡,無法分享。請在頻道裡輸入 `/invite @crmkb`,再點一次「分享到頻道」。",
        "en": "I am not in this channel, so I cannot share here. Type `/invite @crmkb` in the channel, "
        "then press “Share in channel” again.",
    },
    "direct": {
        "zh-Hans": "我不能在别人之间的私信里发言。请在频道里分享,或复制这条回答。",
        "zh-Hant": "我不能在別人之間的私訊裡發言。請在頻道裡分享,或複製這條回答。",
        "en": "I cannot post in a direct message between other people: share in a channel, or copy the answer.",
    },
    "unshared": {
        "zh-Hans": "无法分享这条回答:Slack 返回 {error}。",
        "zh-Hant": "無法分享這條回答:Slack 回覆 {error}。",
        "en": "Could not share the answer: Slack said {error}.",
    },
}


def language_of(text: str) -> str:
    """The language to speak to the writer of ``text`` in (English for any language the bot does not speak)."""
    return reply_language(detect_language(text))


def line(key: str, language: str, **values: object) -> str:
    lines = _LINES[key]
    return lines.get(language, lines["en"]).format(**values)


def trouble(question: str, key: str, **values: object) -> str:
    """The line "cannot answer right now: <why>" in the language ``question`` is written in, the reason
    being the line named ``key`` in that language."""
    language = language_of(question)
    return line("trouble", language, detail=line(key, language, **values))
