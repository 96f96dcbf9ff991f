"""Which articles a question names by how it describes them ("风险那篇", "那篇挽救失败项目的文章", "the rescue
article", "the vendor article", "RegionSoft那篇", "004那篇"): such a question is answered from them.

A description is matched to each article's identity: its title (Chinese and English), the catalog's author
and subject, and the Latin-script names only that article uses (RegionSoft, Gartner). A term in the title,
the author or such a name counts most, one in the subject less, and how often the article itself uses it a
little; a term few articles hold says more than one most do. An article is named only when it clearly
outscores every other and its title, author or subject holds part of the description: "那篇文章" or "讲培训
的文章" (training is in several articles, the title of none) names none, and the question is answered as
if it named none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

from crmkb.ingest.artifacts import StoredDocument

# "风险那篇", "講Gartner調查那篇": the words before 那篇/这篇; "那篇挽救失败项目的文章": those between it and 文章;
# "讲风险的文章": those before 的文章. The words may include a verb or a greeting ("请问风险"), which name
# nothing an article's identity holds.
_DESCRIBED = (
    re.compile(r"([\u4e00-\u9fffA-Za-z0-9]{1,12}?)的?[那这這]篇"),
    re.compile(r"[那这這]篇([\u4e00-\u9fffA-Za-z0-9]{1,12}?)的?文章"),
    re.compile(r"([\u4e00-\u9fffA-Za-z0-9]{2,12}?)的文章"),
    re.compile(r"\bthe ((?:[\w'-]+ ){1,3})(?:article|piece|post)\b", re.IGNORECASE),
    # "the RegionSoft one", "ok and the vendor one?": "the 2nd one", "the other one" name nothing an
    # article's identity holds, so they name none
    re.compile(r"\bthe ([\w-]+(?: [\w-]+)?) one\b", re.IGNORECASE),
)
_DOCUMENT_NUMBER = re.compile(r"\d{1,4}")  # "004那篇": the number a document's file name starts with
_NAME = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z]{2,}(?![A-Za-z])")  # "Gartner调查": no \b between r and 调
NAMED_WEIGHT, SUBJECT_WEIGHT = 3.0, 1.0  # a term in the title, author or a name only it uses; in the subject
CLEAR_LEAD = 1.5  # the named article outscores every other by this factor


@dataclass(frozen=True)
class Reference:
    """A description of an article in a question, where it is, and the article it names."""

    start: int
    end: int
    source: str


@dataclass(frozen=True)
class _Identity:
    named: frozenset[str]  # terms of the title, English title and author, and the names only it uses
    subject: frozenset[str]
    text: str  # lower-cased, for how often the article uses a term


class References:
    """``terms_of`` gives the terms of a piece of text as questions are read (normalised, with the
    glossary's spellings of English words)."""

    def __init__(
        self, documents: Mapping[str, StoredDocument], terms_of: Callable[[str], frozenset[str]]
    ) -> None:
        self.documents = documents
        self.terms_of = terms_of

    @cached_property
    def _identities(self) -> dict[str, _Identity]:
        names = {source: {n.lower() for n in _NAME.findall(d.text)} for source, d in self.documents.items()}
        identities = {}
        for source, document in self.documents.items():
            others = set().union(*(n for other, n in names.items() if other != source))
            # each read in its own language: the English title's words are matched by their Chinese too
            described = (document.title, document.title_en, document.author)
            identities[source] = _Identity(
                frozenset().union(*map(self.terms_of, described), names[source] - others),
                frozenset(self.terms_of(document.subject)),
                document.text.lower(),
            )
        return identities

    def find(self, question: str) -> list[Reference]:
        """The descriptions in ``question`` that name an article, in order."""
        found: list[Reference] = []
        for start, end, words in _descriptions(question):
            if any(r.start < end and start < r.end for r in found):
                continue  # one description, matched by two patterns ("那篇讲风险的文章")
            source = self._numbered(words) or self._described(words)
            if source is not None:
                found.append(Reference(start, end, source))
        return sorted(found, key=lambda r: r.start)

    def named(self, question: str) -> frozenset[str]:
        """The articles ``question`` names by description."""
        return frozenset(r.source for r in self.find(question))

    def _numbered(self, words: str) -> str | None:
        number = words.strip()
        if not _DOCUMENT_NUMBER.fullmatch(number):
            return None
        numbered = [source for source in self.documents if source.startswith(number)]
        return numbered[0] if len(numbered) == 1 else None

    def _described(self, words: str) -> str | None:
        terms = self.terms_of(words) | {w.lower() for w in re.findall(r"[A-Za-z]{3,}", words)}
        identities = self._identities
        # each article's text is read once per term: how often it uses the term, and so whether it does
        used = {(source, t): identity.text.count(t) for source, identity in identities.items() for t in terms}
        held_by = {
            t: sum(bool(used[source, t]) or _described_by(i, t) for source, i in identities.items())
            for t in terms
        }
        scores = {
            source: sum(
                math.log(1 + len(identities) / held_by[t])
                * (
                    NAMED_WEIGHT * (t in identity.named)
                    + SUBJECT_WEIGHT * (t in identity.subject)
                    + math.log(1 + used[source, t])
                )
                for t in terms
                if held_by[t]
            )
            for source, identity in identities.items()
        }
        ranked = sorted(scores, key=lambda s: scores[s], reverse=True)
        if not ranked or scores[ranked[0]] <= 0:
            return None
        best = identities[ranked[0]]
        second = scores[ranked[1]] if len(ranked) > 1 else 0.0
        described = any(_described_by(best, t) for t in terms)
        return ranked[0] if described and scores[ranked[0]] >= CLEAR_LEAD * second else None


def _described_by(identity: _Identity, term: str) -> bool:
    """Whether the article's title, author, subject or a name only it uses holds ``term``."""
    return term in identity.named or term in identity.subject


def _descriptions(question: str) -> Iterator[tuple[int, int, str]]:
    for pattern in _DESCRIBED:
        for match in pattern.finditer(question):
            yield match.start(), match.end(), match.group(1)
