"""bench.http runs its two POST phases in alternating order: neither always gets the longer log."""

from __future__ import annotations

from bench.http import post_order


def test_each_connection_count_runs_keyed_first_in_every_other_repeat() -> None:
    for index in range(3):
        assert {post_order(0, index), post_order(1, index)} == {
            ("post", "post_keyed"),
            ("post_keyed", "post"),
        }


def test_one_repeat_alternates_across_the_connection_counts() -> None:
    assert [post_order(0, i)[0] for i in range(3)] == ["post", "post_keyed", "post"]
