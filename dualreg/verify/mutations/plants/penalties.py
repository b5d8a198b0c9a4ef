"""Plants in the penalty library: faces, constants and proximal operators."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

LAYER = "penalty faces"


def _scaled(factor: float):
    return lambda orig: (lambda self, *a: orig(self, *a) * factor)


@plant("logsum-dual-off-by-1pct", LAYER, "LogSum's dual f is 1 % too large", ("T4",), ci=True)
def _(p):
    p.wrap("dualreg.penalties.classical:LogSum", "_dual", _scaled(1.01))


@plant("logsum-eta-hat-2eps", LAYER, "LogSum's η̂ is |w|(|w| + 2ε) instead of |w|(|w| + ε)",
       ("T4",))
def _(p):
    p.set("dualreg.penalties.classical:LogSum", "_eta_hat", lambda self, t: t * (t + 2 * self.eps))


@plant("log2sum-dual-sign", LAYER, "Log²Sum's dual has −ε/η for +ε/η (the reference code's sign)",
       ("T4",))
def _(p):
    def dual(self, eta):
        e = self.eps
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            upper = 2.0 * np.log(2.0 * eta) - 2.0 - e / eta
        return np.where(eta >= e / 2.0, upper, 2.0 * np.log(e))

    p.set("dualreg.penalties.classical:Log2Sum", "_dual", dual)


@plant("power-dual-exponent", LAYER, "ℓp's dual exponent is r = q/(2 + q) instead of q/(2 − q)",
       ("T4",))
def _(p):
    def dual(self, eta):
        m, q = self.weight, self.q
        if q == 2:
            return np.where(m * eta <= 1.0, 0.0, np.inf)
        r = q / (2 + q)
        with np.errstate(over="ignore"):
            return m * (m * eta) ** r / r

    p.set("dualreg.penalties.classical:Power", "_dual", dual)


@plant("power-slope-unweighted", LAYER, "the weighted power's Ω' forgets the weight m",
       ("T3", "T4"))
def _(p):
    def slope(self, t):
        q = self.q
        if q == 1:
            return np.ones_like(t)
        with np.errstate(divide="ignore"):
            return t ** (q - 1)

    p.set("dualreg.penalties.classical:Power", "_slope", slope)


@plant("mcp-firm-threshold-sign", LAYER,
       "MCP's prox divides by 1 + step/b instead of 1 − step/b (firm thresholding)", ("T4", "T5"))
def _(p):
    from dualreg.penalties.classical import _prox_by_candidates

    def prox(self, v, step):
        b = self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(step < b, (v - step) / (1.0 + step / b), 0.0)
        cands = [np.zeros_like(v), np.clip(inner, 0.0, b), np.full_like(v, b), np.maximum(v, b)]
        return _prox_by_candidates(self, v, step, cands)

    p.set("dualreg.penalties.classical:MCP", "_prox", prox)


@plant("mcp-dual-2b", LAYER, "MCP's dual is bη/(η + 2b) instead of bη/(η + b)", ("T4",))
def _(p):
    def dual(self, eta):
        b = self.b
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(eta), b, b * eta / (eta + 2 * b))

    p.set("dualreg.penalties.classical:MCP", "_dual", dual)


@plant("scad-eta-hat-5pct", LAYER, "SCAD's η̂ is 5 % too large on its quadratic piece", ("T4",))
def _(p):
    def make(orig):
        def eta_hat(self, t):
            out = orig(self, t)
            mid = (t > self.scale) & (t < self.a * self.scale)
            return np.where(mid, 1.05 * out, out)

        return eta_hat

    p.wrap("dualreg.penalties.classical:SCAD", "_eta_hat", make)


@plant("two-level-offset", LAYER,
       "the two-level quadratic (capped ridge, targeted dropout) drops the constant that keeps Ω "
       "continuous at τ", ("T4",))
def _(p):
    def make(orig):
        def omega(self, t):
            out = orig(self, t)
            return np.where(t > self.tau, out - 0.5 * self.r_below * self.tau**2, out)

        return omega

    p.wrap("dualreg.penalties.classical:TwoLevelQuadratic", "_omega", make)


@plant("vardrop-is-molchanov", LAYER,
       "the exact variational-dropout dual is silently replaced by Molchanov's approximation",
       ("T7",), ci=True)
def _(p):
    from dualreg.penalties.variational import VarDropApprox

    p.set("dualreg.penalties.variational:VarDrop", "_dual", VarDropApprox._dual)
    p.set("dualreg.penalties.variational:VarDrop", "dual_derivative",
          VarDropApprox.dual_derivative)
    for const in ("K1", "K2", "K3"):  # the approximation's constants, which VarDrop lacks
        p.set("dualreg.penalties.variational:VarDrop", const, getattr(VarDropApprox, const),
              new=True)


@plant("molchanov-k2-k3-swapped", LAYER, "Molchanov's constants k₂ and k₃ are swapped", ("T7",))
def _(p):
    p.set("dualreg.penalties.variational:VarDropApprox", "K2", 1.48695)
    p.set("dualreg.penalties.variational:VarDropApprox", "K3", 1.87320)


@plant("vardrop-dual-sqrt2", LAYER,
       "the exact VarDrop dual evaluates Dawson's integral at √η instead of √(η/2)", ("T7",))
def _(p):
    from dualreg.penalties.variational import dawson_integral

    def dual(self, eta):
        with np.errstate(invalid="ignore"):
            out = 4.0 * dawson_integral(np.sqrt(eta))
        return np.where(np.isinf(eta), np.inf, out)

    p.set("dualreg.penalties.variational:VarDrop", "_dual", dual)


@plant("hard-concrete-moments-swapped", LAYER,
       "hard concrete's η uses E[z²]/E[z]² − 1 inverted (Var z/E[z]² upside down)", ("T7",))
def _(p):
    def make(orig):
        return lambda self, la: 1.0 / orig(self, la)

    p.wrap("dualreg.penalties.hard_concrete:HardConcrete", "eta_of_log_alpha", make)


@plant("standout-eta-half", LAYER, "standout's η̂ is e^{|w|/2} instead of e^{|w|}", ("T7",))
def _(p):
    p.set("dualreg.penalties.standout:Standout", "_eta_hat",
          lambda self, t: np.exp(np.minimum(t / 2, 700.0)))


@plant("hard-threshold-keeps-k-plus-1", LAYER,
       "HardThreshold's prox keeps the k + 1 largest weights", ("T7",), ci=True)
def _(p):
    def top_k(self, w):
        mask = np.zeros(w.shape, dtype=bool)
        order = np.argsort(-np.abs(w), axis=-1, kind="stable")[..., : self.k + 1]
        np.put_along_axis(mask, order, True, axis=-1)
        return mask

    p.set("dualreg.penalties.nonseparable:HardThreshold", "_top_k", top_k)


@plant("targeted-odds-not-ratio", LAYER,
       "targeted dropout's penalty uses the rate a as the odds instead of a/(1 − a)", ("T7",))
def _(p):
    from dualreg._validation import check_rate
    from dualreg.penalties.classical import TwoLevelQuadratic

    def init(self, rate=0.5, tau=1.0):
        self.rate = check_rate(rate, "rate")
        TwoLevelQuadratic.__init__(self, self.rate, 0.0, tau)

    p.set("dualreg.penalties.targeted:TargetedDropout", "__init__", init)


@plant("sparseout-stop-constant", LAYER,
       "Sparseout's stop-gradient penalty is (v/2)|w|^q instead of (v/q)|w|^q", ("T3",))
def _(p):
    from dualreg.penalties.classical import Power

    def init(self, q=1.0, drop=0.5, grad="stop"):
        self.drop, self.grad = float(drop), grad
        odds = self.drop / (1.0 - self.drop)
        Power.__init__(self, q, odds * q / 2.0)  # the stop-gradient weight is v, not vq/2

    p.set("dualreg.penalties.sparseout:Sparseout", "__init__", init)


@plant("ydrop-rates-swapped", LAYER,
       "Y-Drop's penalty gives the low rate to the important units (r_low ↔ r_high)", ("T8",))
def _(p):
    def make(orig):
        def init(self, p_low=0.1, p_high=0.5, tau=1.0, mapping="bucket", mirrored=False):
            orig(self, p_low, p_high, tau, mapping, not mirrored)
            self.mirrored = bool(mirrored)

        return init

    p.wrap("dualreg.penalties.ydrop:YDrop", "__init__", make)
