"""The two kinds of failure a person is told about, and that every channel tells apart.

Every error the product raises for someone to read subclasses one of two bases, so a channel maps them in
one place (the HTTP app's handlers, the CLI's ``user_errors``, the Slack answerer) instead of listing types
from every module:

- :class:`UserError`: what someone asked or supplied is wrong (a question, a setting, a catalog entry, a
  question list, an edit). The message says what to change; HTTP answers 4xx, the CLI exits 1.
- :class:`Unavailable`: a part an answer needs cannot be used now (the vector store, the index, the
  embedding model, the feedback database). Nothing the asker typed is at fault and asking again later may
  work; HTTP answers 503, Slack says so in one line, and the cause is logged for the operator.

The bases subclass ``ValueError`` and ``RuntimeError`` so code that already catches those keeps working.
"""

from __future__ import annotations


class UserError(ValueError):
    """What was asked or supplied cannot be used as it is; the message says what to change."""


class NotFound(UserError, LookupError):
    """What the request names (an answer id, a published entry) does not exist."""


class Conflict(UserError):
    """The request contradicts the current state (someone else changed it first)."""


class Unavailable(RuntimeError):
    """A part needed to answer cannot be used right now; the message says what an operator can do."""


def first_line(exc: BaseException) -> str:
    """An exception as one line for a log or a user: its message's first line, else its type's name."""
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def described(exc: BaseException) -> str:
    """An error and what caused it, on one line, for an operator's log: a part that stays down fails every
    request, so a traceback each time would bury everything else."""
    causes: list[str] = []
    cause = exc.__cause__
    while cause is not None and len(causes) < 3:
        causes.append(f"{type(cause).__name__}: {first_line(cause)}")
        cause = cause.__cause__
    return " <- ".join([first_line(exc), *causes])
