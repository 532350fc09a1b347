"""allauth's codes as the platform accepts them.

allauth writes its codes for people to read: ``BCDF-GHJK`` (eight letters,
the default), ``123-456-789`` (nine digits, ``numeric``), any length, dashed
or not (``ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT``). ``/v1/codes`` takes 4
to 10 letters or digits. allauth compares codes without their punctuation
and case (``compare_user_code``), so the dashes are only decoration: the
code is sent without them, and the person may type it either way.
"""

from __future__ import annotations

import string

#: What allauth adds for readability and strips again when it compares.
_DECORATION = str.maketrans("", "", string.punctuation + string.whitespace)

#: The platform's limits on a code's length.
SHORTEST, LONGEST = 4, 10


def sms_code(code: str) -> str:
    """``BCDF-GHJK`` → ``BCDFGHJK``: the code as ``send_code`` sends it."""
    return code.translate(_DECORATION)


def format_length(code_format: dict) -> int:
    """How many letters or digits a code of allauth's ``code_format`` has (its own defaults)."""
    length = code_format.get("length")
    if length is None:  # allauth's generate_user_code: 9 digits, or 8 letters
        length = 9 if code_format.get("numeric") else 8
    return int(length)
