"""What a person reads on a page: its text and the attributes a browser shows or speaks, as words."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Attributes whose values a person sees (a tooltip, a placeholder) or hears (a screen reader).
SHOWN_ATTRIBUTES = frozenset({"title", "aria-label", "placeholder", "alt", "value"})
#: Elements whose content is not read: code and styles, and form values a person never sees.
HIDDEN_ELEMENTS = frozenset({"script", "style"})
#: Inputs whose ``value`` is a label (the others hold what a person typed, or nothing to read).
LABELLED_INPUTS = frozenset({"submit", "button", "reset"})

#: A word: letters, perhaps joined by hyphens or apostrophes (``E-Mail``, ``español``).
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
LATIN = re.compile(r"[A-Za-z]")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            if name not in SHOWN_ATTRIBUTES or not value:
                continue
            if name == "value" and (tag != "input" or values.get("type") not in LABELLED_INPUTS):
                continue
            self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden_depth = max(self.hidden_depth - 1, 0)

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The page's readable text, one space between its parts."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return " ".join(" ".join(reader.parts).split())


def latin_words(text: str) -> set[str]:
    """The words written in Latin letters, lowercased (``E-Mail`` is one word)."""
    return {word.lower() for word in WORD.findall(text) if LATIN.search(word)}
