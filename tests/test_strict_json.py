import json

import pytest

from django_engagelab_otp import strict_json
from django_engagelab_otp.strict_json import MAX_DEPTH


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_read():
    assert strict_json.loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deeper_nesting_is_refused_before_parsing(depth):
    with pytest.raises(ValueError, match="nested too deeply"):
        strict_json.loads(nested(depth))


def test_objects_count_as_levels_too():
    text = '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    with pytest.raises(ValueError, match="nested too deeply"):
        strict_json.loads(text)


def test_brackets_inside_strings_do_not_nest():
    # Escaped quotes must not end the string early.
    text = json.dumps({"message": '\\"' + "[" * 1000 + "{" * 1000})
    assert strict_json.loads(text) == json.loads(text)


def test_many_shallow_rows_are_read():
    rows = [{"message_id": str(n), "status": {"code": n}} for n in range(5000)]
    assert strict_json.loads(json.dumps(rows)) == rows
