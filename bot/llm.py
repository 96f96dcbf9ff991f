"""LLM answering mode: a LangChain chain over the same retrieval, with a grounding guard on every answer.

The model sees numbered passages (the retrieved chunks) and must cite them as [n]. Every sentence of its
reply is checked: citations to passages that do not exist are dropped, sentences no cited passage
supports are dropped, and each surviving citation is pinned to the verbatim sentence of its passage that
supports it best, so the quote and offsets can be checked like any extractive citation. If nothing
grounded is left, the model gives the refusal sentinel, or the endpoint fails or times out, the answer
falls back to the extractive one (or to a refusal).
"""

from __future__ import annotations

import logging
import time

import numpy as np
from langchain_core.language_models import BaseChatModel

from crmkb.bot import render
from crmkb.bot.extractive import Evidence, ExtractiveAnswerer
from crmkb.bot.grounding import claims, support
from crmkb.bot.prompts import LANGUAGE_INSTRUCTIONS, REFUSAL_SENTINEL, chat_prompt
from crmkb.bot.retrieval import Hit
from crmkb.bot.schemas import Answer, Citation
from crmkb.core.settings import LLMSettings
from crmkb.ingest.catalog import place_label
from crmkb.ingest.normalise import to_traditional

log = logging.getLogger(__name__)


def make_chat_model(settings: LLMSettings) -> BaseChatModel:
    """ChatOpenAI against the configured OpenAI-compatible endpoint (no retries: a slow model falls back)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.timeout_s,
        max_retries=0,
        temperature=0,
        max_completion_tokens=settings.max_tokens,
        streaming=True,
    )


class LLMAnswerer:
    def __init__(self, extractive: ExtractiveAnswerer, model: BaseChatModel, settings: LLMSettings) -> None:
        self.extractive = extractive
        self.settings = settings
        self.chain = chat_prompt() | model

    def answer(self, question: str, history: list[str] | None = None) -> Answer:
        began = time.perf_counter()
        evidence = self.extractive.gather(question, history)
        result = self._answer(question, evidence)
        result.latency_ms = round((time.perf_counter() - began) * 1000, 2)
        return result

    def _answer(self, question: str, evidence: Evidence) -> Answer:
        if evidence.refusal_reason is not None:  # a near miss or off-topic question never reaches the model
            return self.extractive.render(question, evidence)
        passages = evidence.hits[: self.settings.passages]
        try:
            reply = self._ask_model(question, evidence, passages)
        except Exception as exc:  # timeouts, HTTP and protocol errors of the endpoint all mean: fall back
            log.warning(
                "LLM endpoint failed (%s: %s); serving the extractive answer", type(exc).__name__, exc
            )
            return self.extractive.render(question, evidence)
        if REFUSAL_SENTINEL in reply:
            return render.refusal(
                question, evidence.language, evidence.hits, self.extractive.knowledge.english
            )
        grounded = self._guard(reply, passages, separator=" " if evidence.language == "en" else "")
        if grounded is None:
            return self.extractive.render(question, evidence)
        text, citations = grounded
        if evidence.language == "zh-Hant":
            text = to_traditional(text)
        return Answer(
            question=question, answer=text, answerable=True, language=evidence.language, mode="llm",
            citations=citations,
        )  # fmt: skip

    def _ask_model(self, question: str, evidence: Evidence, passages: list[Hit]) -> str:
        numbered = "\n\n".join(f"[{n}] {place_label(hit.chunk.title, hit.chunk.section)}\n{hit.chunk.text}"
                               for n, hit in enumerate(passages, 1))  # fmt: skip
        inputs = {
            "refusal": REFUSAL_SENTINEL,
            "language_instruction": LANGUAGE_INSTRUCTIONS.get(evidence.language, LANGUAGE_INSTRUCTIONS["en"]),
            "passages": numbered,
            "question": question,
        }
        return "".join(str(chunk.content) for chunk in self.chain.stream(inputs)).strip()

    def _guard(self, reply: str, passages: list[Hit], separator: str) -> tuple[str, list[Citation]] | None:
        """Keep only sentences whose citations exist and support them; renumber citations in order."""
        knowledge = self.extractive.knowledge
        units = knowledge.sentences.units
        citations: list[Citation] = []
        by_unit: dict[int, int] = {}
        kept: list[str] = []
        for claim_ in claims(reply):
            valid = [n for n in claim_.markers if 1 <= n <= len(passages)]
            if not valid:
                continue
            claim = claim_.text
            vector = np.asarray(self.extractive.embeddings.embed_query(claim), dtype=np.float32)
            markers: list[int] = []
            for n in dict.fromkeys(valid):
                chunk = passages[n - 1].chunk
                indexes = knowledge.chunk_sentences.get(chunk.id, [])
                if (
                    not indexes
                    or not support(claim, chunk.text, vector, knowledge.sentence_vectors(indexes)).supported
                ):
                    continue
                best = max(indexes, key=lambda i: support(claim, units[i].text, vector, knowledge.sentence_vectors([i])).containment
                           + float(knowledge.sentences.vectors[i] @ vector))  # fmt: skip
                if best not in by_unit:
                    by_unit[best] = len(citations) + 1
                    unit = units[best]
                    title_en, section_en = knowledge.english(unit.source, chunk.section)
                    citations.append(Citation(
                        n=by_unit[best], source=unit.source, title=chunk.title, section=chunk.section,
                        kind=chunk.kind, quote=unit.text, start=unit.start, end=unit.end,
                        score=round(float(knowledge.sentences.vectors[best] @ vector), 4),
                        title_en=title_en, section_en=section_en,
                    ))  # fmt: skip
                markers.append(by_unit[best])
            if markers:
                kept.append(claim + "".join(f"[{m}]" for m in dict.fromkeys(markers)))
        if not kept:
            return None
        return separator.join(kept), citations
