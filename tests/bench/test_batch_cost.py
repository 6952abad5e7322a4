"""The batch-cost tool's split of CPU per command into a cost per batch and per command."""

from __future__ import annotations

import pytest

from bench.batch_cost import fit


def test_the_fit_recovers_the_cost_of_a_batch_and_of_a_command() -> None:
    sizes = (1, 3, 8, 16)
    per_command, per_batch = fit([(1 / s, 0.05 + 1.1 / s) for s in sizes])
    assert per_command == pytest.approx(0.05)
    assert per_batch == pytest.approx(1.1)
