"""MkDocs hooks: the tables the code owns are written into the pages at build time.

A page says where a table goes with a line of its own, ``<!-- generated: NAME -->``;
:func:`expand` replaces it with the table the code prints today, so the site
cannot show a stale copy. The same function serves the tests
(``tests/site/test_docs.py``), which need no MkDocs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MARKER = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.M)


def _django() -> None:
    """Django settings enough for the tables: untranslated English, as ``python -m …errors`` uses."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False)


def settings_table() -> str:
    """``python -m django_engagelab_otp.conf``."""
    from django_engagelab_otp.conf import markdown_table

    return markdown_table()


def error_table() -> str:
    """``python -m django_engagelab_otp.errors``."""
    _django()
    from django_engagelab_otp.errors import markdown_table

    return markdown_table()


def magic_table() -> str:
    """``manage.py engagelab_simulator --magic``."""
    from django_engagelab_otp.simulator.magic import table_markdown

    return table_markdown() + "\n"


TABLES: dict[str, Callable[[], str]] = {
    "settings": settings_table,
    "error-table": error_table,
    "magic": magic_table,
}


def expand(markdown: str) -> str:
    """The page with each marker replaced by its table; an unknown name is an error, not a gap."""

    def table(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in TABLES:
            raise ValueError(f"no generated table is called {name!r} (known: {', '.join(TABLES)})")
        # A block of its own, so that the stylesheet can fit each table (docs/assets/extra.css).
        return f'<div class="generated-{name}" markdown>\n\n{TABLES[name]().rstrip()}\n\n</div>'

    return MARKER.sub(table, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return expand(markdown)
