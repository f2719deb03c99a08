"""Risk bands: thresholds from params.yaml, boundaries inclusive from below."""

from __future__ import annotations

import numpy as np
import pytest

from churn.scoring import Bands, BundleError


def test_a_probability_gets_the_band_of_the_highest_bound_it_reaches() -> None:
    bands = Bands.from_mapping({"low": 0.0, "medium": 0.2, "high": 0.5})
    got = bands.assign(np.array([0.0, 0.1999, 0.2, 0.4999, 0.5, 1.0]))
    assert list(got) == ["low", "low", "medium", "medium", "high", "high"]


@pytest.mark.parametrize(
    "bad", [{}, {"low": 0.1, "high": 0.5}, {"low": 0.0, "high": 0.5, "mid": 0.3}, {"a": 0, "b": 2}]
)
def test_bands_that_do_not_cover_zero_to_one_in_order_are_refused(bad: dict) -> None:
    with pytest.raises(BundleError, match=r"serving.risk_bands must start at 0"):
        Bands.from_mapping(bad)
