"""Reading the example site's pages in tests: where an error shows, in the HTML the person gets."""

from __future__ import annotations

import re
from typing import Any

from django.utils.html import escape


def page(response: Any) -> str:
    return response.content.decode()


def escaped(value: Any) -> str:
    """``value`` as the page writes it (``'`` is ``&#x27;``)."""
    return escape(str(value))


def field_errors(html: str, name: str) -> str:
    """The error list rendered under a field, or ''."""
    match = re.search(rf'<ul class="field-errors" id="id_{name}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def alert(html: str) -> str:
    """The form's non-field errors and the page's error messages, or ''."""
    found = re.findall(r'class="alert alert-error" role="alert">(.*?)</(?:div|li)>', html, re.S)
    return "\n".join(found)
