"""Risk bands: lower bands from serving, the top one from the decision threshold."""

from __future__ import annotations

import numpy as np
import pytest

from gitops.scoring.bundle import Bands, BundleError
from gitops.settings import ServingSettings


def test_a_probability_gets_the_band_of_the_highest_bound_it_reaches() -> None:
    bands = Bands.from_mapping({"low": 0.0, "medium": 0.2, "high": 0.5})
    got = bands.assign(np.array([0.0, 0.1999, 0.2, 0.4999, 0.5, 1.0]))
    assert list(got) == ["low", "low", "medium", "medium", "high", "high"]


def test_the_flagged_band_starts_at_the_threshold() -> None:
    serving = ServingSettings(risk_bands={"low": 0.0, "medium": 0.2}, flagged_band="call")
    bands = Bands.from_settings(serving, threshold=0.35)
    assert bands.as_dict() == {"low": 0.0, "medium": 0.2, "call": 0.35}
    assert list(bands.assign(np.array([0.349, 0.35]))) == ["medium", "call"]


@pytest.mark.parametrize(
    "bad", [{}, {"low": 0.1, "high": 0.5}, {"low": 0.0, "high": 0.5, "mid": 0.3}, {"a": 0, "b": 2}]
)
def test_bands_that_do_not_cover_zero_to_one_in_order_are_refused(bad: dict) -> None:
    with pytest.raises(BundleError, match=r"serving.risk_bands must start at 0"):
        Bands.from_mapping(bad)


def test_a_lower_band_above_the_threshold_is_refused() -> None:
    serving = ServingSettings(risk_bands={"low": 0.0, "medium": 0.6})
    with pytest.raises(BundleError, match=r"metrics.threshold"):
        Bands.from_settings(serving, threshold=0.5)
