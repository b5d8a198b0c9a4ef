"""The figures' log-log slope fit (scipy.stats.linregress) against the normal equations."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from dualreg.plots._common import loglog_slope


def test_slope_intercept_and_standard_error_by_hand():
    x = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
    y = 2.0 * x**-0.5 * np.array([1.0, 1.08, 0.93, 1.04, 0.98])
    slope, intercept, se = loglog_slope(x, y)
    lx, ly = np.log(x), np.log(y)
    sxx = np.sum((lx - lx.mean()) ** 2)
    b = np.sum((lx - lx.mean()) * (ly - ly.mean())) / sxx
    a = ly.mean() - b * lx.mean()
    resid = ly - (a + b * lx)
    assert slope == pytest.approx(b, rel=1e-12)
    assert intercept == pytest.approx(a, rel=1e-12)
    assert se == pytest.approx(np.sqrt(np.sum(resid**2) / (x.size - 2) / sxx), rel=1e-12)
