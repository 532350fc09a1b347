"""The "Signing people in" page (docs/signin.md) says what the integrations do: names, settings, lines of glue."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from django.conf import settings

from django_engagelab_otp.conf import DEFAULTS
from tests.support.docs import code_blocks, imported_names, page

SIGNING_IN = page("signin.md")


def test_every_name_imported_in_the_examples_exists():
    blocks = "\n".join(code_blocks("python", SIGNING_IN))
    assert len(imported_names(blocks)) >= 2
    for dotted in re.findall(r'"(django_engagelab_otp\.contrib\.[\w.]+)"', blocks):
        module, _, name = dotted.rpartition(".")
        try:
            assert hasattr(importlib.import_module(module), name), dotted
        except ModuleNotFoundError:
            importlib.import_module(dotted)  # an app's package


def test_each_setup_is_at_most_five_lines_and_is_the_one_the_tests_run():
    setups = [block for block in code_blocks("python", SIGNING_IN) if "import" not in block or "urls.py" in block]
    for block in setups:
        lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
        assert len(lines) <= 5, block
    # The settings the tests run with are the ones shown.
    shown = "\n".join(setups)
    for name in ("TWO_FACTOR_SMS_GATEWAY", "TWO_FACTOR_CALL_GATEWAY", "ACCOUNT_ADAPTER"):
        assert f'{name} = "{getattr(settings, name)}"' in shown


def test_the_new_settings_are_documented():
    assert {"CODE_TEMPLATE_ID", "VOICE_TEMPLATE_ID"} <= set(DEFAULTS)
    for key in ("CODE_TEMPLATE_ID", "VOICE_TEMPLATE_ID"):
        assert f"`{key}`" in SIGNING_IN


def test_the_system_check_named_is_the_one_registered():
    from django_engagelab_otp.contrib.allauth import checks

    named = set(re.findall(r"`(django_engagelab_otp\.contrib\.allauth\.E\d{3})`", SIGNING_IN))
    assert named == set(re.findall(r'id="([\w.]+)"', Path(checks.__file__).read_text())) != set()
