"""The benches' report: three places, the bound beside each figure, the failed ones named."""

from __future__ import annotations

import pytest

from bench._report import Report


def test_a_ratio_just_under_its_bound_is_shown_as_it_is_and_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = Report()
    assert not report.at_least("throughput ratio", 0.698, 0.7)
    assert report.at_most("memory growth", 0.05, 0.10)
    assert report.finish() == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "throughput ratio            :     0.698 (at least 0.700) FAILED",
        "memory growth               :     0.050 (at most 0.100) ok",
        "FAILED: throughput ratio 0.698 is not at least 0.700",
    ]


def test_all_bounds_met_exit_zero() -> None:
    report = Report()
    report.at_most("ratio", 2.5, 3.0)
    assert report.finish() == 0
