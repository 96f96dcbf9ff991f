"""Which citation each answer sentence answers to (shared by the LLM guard and the evals)."""

from __future__ import annotations

from crmkb.bot.grounding import Claim, claims


def test_a_marker_covers_uncited_sentences_before_it_on_its_line() -> None:
    assert claims("甲说。乙说。[1]丙说。[2]") == [
        Claim("甲说。", (1,)),
        Claim("乙说。", (1,)),
        Claim("丙说。", (2,)),
    ]


def test_a_marker_never_reaches_across_lines_or_backwards() -> None:
    assert claims("要点:\n甲说。[1]乙说。") == [
        Claim("要点:", ()),
        Claim("甲说。", (1,)),
        Claim("乙说。", ()),
    ]


def test_several_markers_stay_together() -> None:
    assert claims("甲说。[1][3]") == [Claim("甲说。", (1, 3))]


def test_a_deng_closing_questions_stays_with_them() -> None:
    # split off, "等。" has no two characters to check and would be an unsupported claim of a cited quote
    assert claims("是否方便学习?是否节省时间?等。[1]") == [
        Claim("是否方便学习?", (1,)),
        Claim("是否节省时间?等。", (1,)),
    ]


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    assert claims("他说:“不要节省训练。”[1]") == [Claim("他说:“不要节省训练。”", (1,))]
    assert claims("(这是什么?)[2]") == [Claim("(这是什么?)", (2,))]
