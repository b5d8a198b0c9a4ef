"""Plants in the torch dropout layers: sampling, scaling and the rates they compute."""

from __future__ import annotations

from dualreg.verify.mutations.plant import plant

LAYER = "torch layers"
LAYERS = "dualreg.torch.layers"


@plant("bernoulli-keeps-with-p", LAYER, "Bernoulli dropout keeps with probability p (the drop "
       "probability) instead of 1 − p", ("T1", "T9"), ci=True)
def _(p):
    def noisy(self, z, weight):
        if self.p == 0.0:
            return z
        keep = 1.0 - self.p
        b = (self._rand(z.shape, z) < self.p).to(z.dtype)
        return z * b / keep

    p.set(f"{LAYERS}.bernoulli:BernoulliDropout", "_noisy", noisy)


@plant("bernoulli-scales-by-p", LAYER, "inverted dropout divides the kept units by p instead "
       "of 1 − p", ("T1", "T9"))
def _(p):
    def noisy(self, z, weight):
        if self.p == 0.0:
            return z
        b = (self._rand(z.shape, z) < 1.0 - self.p).to(z.dtype)
        return z * b / self.p

    p.set(f"{LAYERS}.bernoulli:BernoulliDropout", "_noisy", noisy)


@plant("gaussian-std-is-variance", LAYER, "Gaussian dropout multiplies the noise by σ² instead "
       "of σ", ("T1", "T9"))
def _(p):
    def noisy(self, z, weight):
        if self.sigma2 == 0.0:
            return z
        return z * (1.0 + self.sigma2 * self._randn(z.shape, z))

    p.set(f"{LAYERS}.gaussian:GaussianDropout", "_noisy", noisy)


@plant("sparseout-keeps-with-p", LAYER, "torch Sparseout draws its mask as Bern(p) instead of "
       "Bern(1 − p)", ("T3",), ci=True)
def _(p):
    from dualreg.torch.layers.sparseout import _SparseoutNoise

    def noisy(self, z, weight):
        if self.p == 0.0:
            return z
        keep = 1.0 - self.p
        xi = (self._rand(z.shape, z) < self.p).to(z.dtype) / keep - 1.0
        kappa = 1.0 if self.grad == "stop" else self.q / 2.0
        return _SparseoutNoise.apply(z, xi, self.q, kappa, self.eps)

    p.set(f"{LAYERS}.sparseout:Sparseout", "_noisy", noisy)


@plant("sparseout-conventions-swapped", LAYER, "torch Sparseout applies the autograd factor q/2 "
       "under grad='stop' and 1 under 'autograd'", ("T3",))
def _(p):
    from dualreg.torch.layers.sparseout import _SparseoutNoise

    def noisy(self, z, weight):
        if self.p == 0.0:
            return z
        keep = 1.0 - self.p
        xi = (self._rand(z.shape, z) < keep).to(z.dtype) / keep - 1.0
        kappa = self.q / 2.0 if self.grad == "stop" else 1.0
        return _SparseoutNoise.apply(z, xi, self.q, kappa, self.eps)

    p.set(f"{LAYERS}.sparseout:Sparseout", "_noisy", noisy)


@plant("adaptive-ignores-keep-floor", LAYER, "adaptive dropout clamps its keep probability at "
       "0 instead of its keep floor", ("T9", "T5"), ci=True)
def _(p):
    def make(orig):
        def rates(self, w):
            floor = self.keep_floor
            try:
                self.keep_floor = 1e-12
                return orig(self, w)
            finally:
                self.keep_floor = floor

        return rates

    p.wrap(f"{LAYERS}.adaptive:AdaptiveDropout", "rates", make)


@plant("adaptive-ignores-column-scale", LAYER, "adaptive dropout computes its rates with c ≡ 1 "
       "whatever column scale it is given", ("T9", "T3", "T7"))
def _(p):
    import torch

    p.set(f"{LAYERS}.adaptive:AdaptiveDropout", "_scale_like",
          lambda self, w: torch.ones_like(w))


@plant("targeted-rescales-survivors", LAYER, "targeted dropout rescales the surviving targeted "
       "weights by 1/(1 − p), like inverted dropout", ("T7", "T12.pruning-trained"))
def _(p):
    import torch

    def noisy(self, z, weight, lead=None):
        spread, dropped, rate = self._draw(z, weight, lead)
        kept = (~dropped).to(z.dtype)
        return z * torch.where(spread, kept / (1.0 - rate), kept)

    p.set(f"{LAYERS}.targeted:TargetedDropout", "_noisy", noisy)


@plant("targeted-targets-largest", LAYER, "targeted dropout targets the largest magnitudes "
       "instead of the smallest", ("T7", "T12.pruning-trained"))
def _(p):
    import torch

    def targeted_set(score, gamma):
        n = score.shape[-1]
        k = torch.floor(torch.as_tensor(gamma, dtype=torch.float64) * n + 1e-9)
        rank = (-score).argsort(dim=-1, stable=True).argsort(dim=-1)
        return rank < k

    p.set(f"{LAYERS}.targeted:TargetedDropout", "targeted_set", staticmethod(targeted_set))


@plant("ydrop-layer-mirrored", LAYER, "the Y-Drop layer drops the less important half more "
       "(its buckets swapped)", ("T8",))
def _(p):
    def make(orig):
        def rates_at(self, importance, tau):
            self.mirrored = not self.mirrored
            try:
                return orig(self, importance, tau)
            finally:
                self.mirrored = not self.mirrored

        return rates_at

    p.wrap(f"{LAYERS}.ydrop:YDrop", "_rates_at", make)


@plant("variational-kl-doubled", LAYER, "variational dropout adds 2λ·KL instead of λ·KL",
       ("T7",))
def _(p):
    p.set(f"{LAYERS}.variational:VariationalDropout", "regularizer",
          lambda self, w: 2.0 * self.lam * self.kl_divergence().sum(-1))


@plant("variational-reparam-sd", LAYER, "the local reparameterisation uses σ instead of σ² for "
       "the weight variance", ("T7",))
def _(p):
    import torch

    from dualreg.torch.layers.base import matvec

    def make(orig):
        def noisy_linear(self, x, w):
            if not (self.training and self.local_reparam):
                return orig(self, x, w)
            mean = matvec(x, w)
            var = matvec(x * x, torch.exp(0.5 * self._log_sigma2()) * w * w)
            return mean + var.clamp_min(torch.finfo(var.dtype).tiny).sqrt() * self._randn(
                mean.shape, mean)

        return noisy_linear

    p.wrap(f"{LAYERS}.variational:VariationalDropout", "noisy_linear", make)
