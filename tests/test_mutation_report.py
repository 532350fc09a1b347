"""``make mutation``'s report (bench/mutation.py): how mutants are counted, and the list of equivalent ones."""

from __future__ import annotations

import pytest

from bench.mutation import EQUIVALENT, GROUPS, THRESHOLD, _prefixes, equivalent_mutants, line
from tests.support.constants import ROOT


def test_a_score_counts_killed_and_timed_out_mutants_of_those_not_set_aside():
    found = {"a": "killed", "b": "timeout", "c": "survived", "d": "no tests", "e": "survived", "f": "killed"}
    text, score = line("limits", found, {"e": "changes nothing", "f": "listed, but a test noticed it anyway"})
    assert score == pytest.approx(100 * 3 / 5)
    assert text.startswith("limits") and "3 killed /    5 =  60.0 %" in text
    assert "6 mutants, 1 equivalent set aside" in text and "1 no tests, 1 survived" in text


def test_every_equivalent_mutant_has_a_reason_and_belongs_to_a_group(tmp_path):
    listed = equivalent_mutants()
    prefixes = tuple(prefix for group in GROUPS.values() for prefix in _prefixes(group))
    assert listed and all(name.startswith(prefixes) and reason for name, reason in listed.items())
    bare = tmp_path / "equivalent.txt"
    bare.write_text("# a comment\n\ndjango_engagelab_otp.errors.x_main__mutmut_1\n")
    with pytest.raises(SystemExit):
        equivalent_mutants(bare)


def test_the_groups_name_files_that_exist_and_the_target_is_not_part_of_make_test():
    for group in GROUPS.values():
        assert all((ROOT / path).is_file() for path in (*group.sources, *group.tests))
    makefile = (ROOT / "Makefile").read_text()
    test_target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "mutation" not in test_target and "\nmutation:" in makefile
    assert THRESHOLD == 90 and EQUIVALENT.is_relative_to(ROOT)
