"""dualreg.sparsity.hoyer: hand values, the torch twin, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dualreg.sparsity import hoyer


def test_hand_values():
    assert hoyer([0.0, 0.0, 3.0]) == pytest.approx(1.0)
    assert hoyer([1.0, -1.0, 1.0, -1.0]) == pytest.approx(0.0, abs=1e-15)
    # d = 4, w = (1, 1, 0, 0): ‖w‖₁/‖w‖₂ = √2, H = (2 − √2)/(2 − 1)
    assert hoyer([1.0, 1.0, 0.0, 0.0]) == pytest.approx(2 - np.sqrt(2), rel=1e-14)
    assert hoyer(np.zeros(3)) == 0.0
    rows = hoyer(np.array([[0.0, 0.0, 2.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(rows, [1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(hoyer(np.array([[0.0, 1.0], [0.0, 1.0], [5.0, 1.0]]), axis=0),
                               [1.0, 0.0], atol=1e-15)


def test_agrees_with_the_torch_version():
    torch = pytest.importorskip("torch")
    from dualreg.torch.metrics import hoyer as hoyer_torch

    w = np.random.default_rng(0).standard_normal((5, 7))
    np.testing.assert_allclose(hoyer(w), hoyer_torch(torch.as_tensor(w)).numpy(), rtol=1e-13)


@pytest.mark.parametrize("bad", [[1.0], 3.0, [1.0, np.nan]])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError, match="w must"):
        hoyer(bad)
