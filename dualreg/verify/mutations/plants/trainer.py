"""Plants in the Monte-Carlo trainer, the exact expectations and the conductance."""

from __future__ import annotations

from dualreg.verify.mutations.plant import plant


@plant("trainer-column-scale-one", "trainer", "the trainer hands the layers c_j ≡ 1 instead of "
       "‖X_j‖²/n", ("T9", "T3", "T7"), ci=True)
def _(p):
    def make(orig):
        def column_scale(X, w, b, family):
            c = orig(X, w, b, family)
            return c.new_ones(c.shape)

        return column_scale

    p.wrap_function("dualreg.torch.train:column_scale", make)


@plant("trainer-no-averaging", "trainer", "average='polyak' silently returns the last iterate",
       ("T9",))
def _(p):
    def make(orig):
        def monte_carlo(*args, **kwargs):
            if kwargs.get("average", "polyak") == "polyak":
                kwargs["average"] = "last"
            return orig(*args, **kwargs)

        return monte_carlo

    p.wrap_function("dualreg.torch.train:monte_carlo", make)


@plant("trainer-burn-in-ignored", "trainer", "the Polyak average starts at step 0 (burn-in "
       "ignored)", ("T9", "T3"))
def _(p):
    def make(orig):
        def monte_carlo(*args, **kwargs):
            kwargs["burn_in"] = 0
            return orig(*args, **kwargs)

        return monte_carlo

    p.wrap_function("dualreg.torch.train:monte_carlo", make)


@plant("trainer-se-without-sqrt-k", "trainer", "the replicas' standard error is their standard "
       "deviation (no 1/√K)", ("T9",))
def _(p):
    def mean_se(a):
        return a.mean(0), a.std(0, ddof=1)

    p.set("dualreg.torch.train", "_mean_se", mean_se)


@plant("fisher-ridge-full-v", "expectations", "the Fisher ridge is built with v instead of v/2",
       ("T2",), ci=True)
def _(p):
    import torch

    from dualreg.torch import expected

    def fisher_ridge_loss(w, b, X, y, family, variance):
        theta = X @ w + b
        pen = variance * torch.mean(expected._A2(theta, family) * ((X * X) @ (w * w)))
        return expected.glm_mean_loss(w, b, X, y, family) + pen

    p.set_function("dualreg.torch.expected:fisher_ridge_loss", fisher_ridge_loss)


@plant("mask-patterns-probabilities-swapped", "expectations", "the enumerated Bernoulli "
       "patterns weight a kept unit by p and a dropped one by 1 − p", ("T2", "T1"))
def _(p):
    import itertools

    import torch

    def bernoulli_patterns(d, p_drop):
        keep = 1.0 - p_drop
        b = torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)), dtype=torch.float64)
        prob = torch.prod(torch.where(b > 0, p_drop, keep), dim=1)
        return b / keep, prob

    p.set_function("dualreg.torch.expected:bernoulli_patterns", bernoulli_patterns)


@plant("conductance-drops-last-interval", "attribution", "the trapezoid conductance sums "
       "intervals 0…steps−2 and drops the last one", ("T8",), ci=True)
def _(p):
    def make(orig):
        def conductance(features, head, x, baseline=None, steps=16):
            import torch

            steps = int(steps)
            x = x.detach()
            base = torch.zeros_like(x) if baseline is None else baseline.detach().expand_as(x)
            grid = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype, device=x.device)
            hs, gs = [], []
            for a in grid:
                with torch.enable_grad():
                    h = features(base + a * (x - base)).detach().requires_grad_(True)
                    (g,) = torch.autograd.grad(head(h).sum(), h)
                hs.append(h.detach())
                gs.append(g.detach())
            total = torch.zeros_like(hs[0])
            for k in range(steps - 1):
                total = total + 0.5 * (gs[k] + gs[k + 1]) * (hs[k + 1] - hs[k])
            return total

        return conductance

    p.wrap_function("dualreg.torch.attribution:conductance", make)

