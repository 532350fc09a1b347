"""Secrets that print as stars, for the values an error page would otherwise show.

Django's error reports hide the variables of the frames ``sensitive_variables``
marks, and of every frame they call, only while ``DEBUG`` is False. Under
DEBUG the technical 500 page prints every variable of every frame, the
ones of requests and urllib3 included (their headers hold the Basic token).
The credentials the HTTP client keeps for as long as a request lasts are held
in these types, whose ``repr`` (what the page prints) is stars whatever
DEBUG says. In every other way they are the ``str`` or ``tuple`` they hold.
"""

from __future__ import annotations

#: What Django's reports put in place of a hidden value.
STARS = "********************"


class SealedText(str):
    """A ``str`` whose ``repr`` is stars: a header value or a secret in a variable."""

    __slots__ = ()

    def __repr__(self) -> str:
        return STARS


class SealedTuple(tuple[str, ...]):
    """A ``tuple`` (of secrets) whose ``repr`` is stars."""

    __slots__ = ()

    def __repr__(self) -> str:
        return STARS
