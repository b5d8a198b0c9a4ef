"""dualreg.plotting.plot_faces: the curves it draws are the faces, by closed forms."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dualreg.penalties import LogSum, YDrop  # noqa: E402
from dualreg.plotting import plot_faces  # noqa: E402


def test_curves_are_the_logsum_faces():
    eps, lam, c = 0.5, 2.0, 3.0
    w = np.linspace(0.0, 4.0, 50)
    axes = plot_faces(LogSum(eps=eps), w=w, lam=lam, c=c)
    try:
        value, eta_hat, dual, keep = (a.get_lines()[0] for a in axes)
        # Ω(w) = log(|w| + ε), η̂ = |w|(|w| + ε), α = cη̂/(cη̂ + λ) (README, conventions §3–4)
        np.testing.assert_allclose(value.get_ydata(), np.log(w + eps) - np.log(eps), atol=1e-12)
        eta = w[1:] * (w[1:] + eps)  # η̂(0) = 0 is left out of the log axis
        np.testing.assert_allclose(eta_hat.get_xdata(), w[1:])
        np.testing.assert_allclose(eta_hat.get_ydata(), eta, rtol=1e-10)
        np.testing.assert_allclose(keep.get_ydata(), c * w * (w + eps) / (c * w * (w + eps) + lam),
                                   atol=1e-12)
        # f at the η̂ of a point gives back Ω there: Ω(w) = ½[w²/η̂ + f(η̂)]
        x, f = dual.get_xdata(), dual.get_ydata()
        t = np.sqrt(x + eps**2 / 4) - eps / 2  # the |w| with η̂(|w|) = x
        np.testing.assert_allclose(0.5 * (t**2 / x + f), np.log(t + eps), atol=1e-8)
        assert axes[1].get_yscale() == "log" and axes[2].get_xscale() == "log"
    finally:
        plt.close("all")


def test_superquadratic_penalty_has_no_dual_curve():
    fig, ax = plt.subplots(1, 4)
    try:
        plot_faces(YDrop(), ax=ax)
        assert ax[2].get_lines() == [] and "no η-form" in ax[2].texts[0].get_text()
    finally:
        plt.close(fig)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"ax": "three"}, "ax must be 4"),
    ({"w": [1.0]}, "w must be"),
    ({"w": [0.0, np.inf]}, "w must be"),
    ({"eta": [[1.0, 2.0]]}, "eta must be"),
    ({"lam": -1.0}, "lam must be"),
    ({"c": 0.0}, "c must be"),
])
def test_bad_input_names_the_argument(kwargs, name):
    if kwargs.get("ax") == "three":
        _fig, three = plt.subplots(1, 3)
        kwargs = {"ax": three}
    try:
        with pytest.raises(ValueError, match=name):
            plot_faces(LogSum(), **kwargs)
    finally:
        plt.close("all")
