r"""Monte-Carlo dropout training: K independent replicas as one batched tensor program.

Every step samples real masks, evaluates the sampled mean loss of a canonical GLM
(docs/conventions.md §1: :math:`L(w) = \tfrac1n\sum_i A(\theta_i) - y_i\theta_i`, gaussian
:math:`\tfrac12(y_i - \theta_i)^2`), and takes an SGD step on it; rates of adaptive rules are
recomputed from the current weights under ``no_grad`` by the layer. The weights of all
replicas form one ``(K, d)`` tensor, masks are ``(K, d)`` (weights) or ``(K, B, d)``
(inputs); there is no Python loop over replicas. The result is each replica's
**Polyak-averaged** iterate after burn-in (docs/conventions.md §6), their mean, and the standard
error across replicas (replicas are independent: :math:`\mathrm{se} = \mathrm{sd}/\sqrt K`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from dualreg._validation import (
    as_finite_array,
    check_bool,
    check_int,
    check_scalar,
    check_seed,
)
from dualreg.families import FAMILIES, Family, get_family
from dualreg.torch.layers import DropoutLayer

__all__ = ["FAMILIES", "MonteCarloResult", "column_scale", "glm_loss", "monte_carlo"]

SCHEDULES = ("constant", "inverse_sqrt", "linear")


# --------------------------------------------------------------------------- families
def glm_loss(theta: Tensor, y: Tensor, family: str | Family) -> Tensor:
    r"""Per-sample loss :math:`A(\theta) - y\theta` of the family (its torch twin)."""
    return get_family(family).pointwise_loss_torch(theta, y)


@torch.no_grad()
def column_scale(X: Tensor, w: Tensor, b: Tensor | None, family: str | Family) -> Tensor:
    r"""Column scales :math:`c_j(w) = \tfrac1n\sum_i A''(x_i^\top w + b)\,x_{ij}^2`
    (docs/conventions.md §1).

    ``w`` is (K, d) and the result (K, d); constant curvature (gaussian):
    :math:`\|X_{:,j}\|^2/n`, shape (d,).
    """
    fam = get_family(family)
    x2 = X * X
    if fam.constant_curvature:
        return x2.mean(0)
    theta = w @ X.T
    if b is not None:
        theta = theta + b.unsqueeze(-1)
    return fam.curvature_torch(theta) @ x2 / X.shape[0]


# --------------------------------------------------------------------------- result
@dataclass
class MonteCarloResult:
    r"""Outcome of :func:`monte_carlo` (numpy arrays, float64).

    Attributes
    ----------
    coef : (K, d)
        Each replica's averaged iterate (Polyak average after burn-in, or the last iterate
        with ``average="last"``).
    coef_mean, coef_se : (d,)
        Mean across replicas and its standard error :math:`s/\sqrt K`.
    intercept, intercept_mean, intercept_se
        The same for the intercept (``None`` without one).
    state : dict
        Averaged per-replica learned tensors of the layer (e.g. ``log_sigma2``), (K, d).
    column_scale : (d,) or (K, d)
        The last column scales c used for the rates.
    trace : dict
        ``step``, ``lr``, ``loss`` (mean sampled loss over replicas) and ``coef`` (mean current
        iterate, (n_trace, d)) every ``trace_every`` steps, for plotting.
    """

    coef: np.ndarray
    coef_mean: np.ndarray
    coef_se: np.ndarray
    intercept: np.ndarray | None
    intercept_mean: float | None
    intercept_se: float | None
    state: dict[str, np.ndarray]
    column_scale: np.ndarray | None
    trace: dict[str, np.ndarray]
    replicas: int
    steps: int
    burn_in: int
    seconds: float
    device: str
    layer: str
    meta: dict[str, Any] = field(default_factory=dict)


def _mean_se(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = a.shape[0]
    mean = a.mean(0)
    se = a.std(0, ddof=1) / np.sqrt(k) if k > 1 else np.full_like(mean, np.nan)
    return mean, se


def _schedule_fn(schedule: Any, steps: int, burn_in: int) -> Callable[[int], float]:
    if callable(schedule):
        return lambda t: float(schedule(t))
    if schedule == "constant":
        return lambda t: 1.0
    if schedule == "inverse_sqrt":
        t0 = max(burn_in, 1)
        return lambda t: 1.0 if t < t0 else (t0 / t) ** 0.5
    if schedule == "linear":
        return lambda t: 1.0 - t / steps
    raise ValueError(f"schedule must be one of {SCHEDULES} or a callable, got {schedule!r}")


def _as_int(x: Any, name: str, low: int) -> int:
    return check_int(x, name, low)


def resolve_device(device: Any, name: str = "device") -> torch.device:
    """``device`` as a torch.device (None: CUDA when available, else CPU); one clear
    ``ValueError`` for a malformed name or a CUDA device torch cannot use here."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name} must be a torch device such as 'cpu' or 'cuda', got "
                         f"{device!r}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={device!r}: no CUDA device is available to torch here")
    return dev


# --------------------------------------------------------------------------- trainer
def monte_carlo(
    X: Any,
    y: Any,
    layer: DropoutLayer,
    family: str = "gaussian",
    replicas: int = 16,
    steps: int = 2000,
    batch: int | None = None,
    lr: float = 0.05,
    schedule: Any = "constant",
    average: str = "polyak",
    burn_in: int | None = None,
    device: Any = None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    progress: bool = True,
    intercept: bool = False,
    init: Any = None,
    trace_every: int | None = None,
    scale_every: int = 1,
) -> MonteCarloResult:
    r"""Train K replicas of a GLM with sampled dropout masks, batched; average the iterates.

    Step t of every replica: draw a minibatch (``batch`` rows with replacement, or all n),
    draw masks, compute the sampled mean loss
    :math:`\tfrac1B\sum_i \ell_i(\theta_i) + \text{layer.regularizer}`,
    :math:`\theta_i = x_i\cdot(s\odot w) + b`, and update
    :math:`w \leftarrow w - \gamma_t \nabla_w` (also b and the layer's learned tensors).
    The step is :math:`\gamma_t = \mathrm{lr}\cdot g(t)`: ``"constant"`` g = 1;
    ``"inverse_sqrt"`` g = 1 up to the burn-in :math:`t_0`, then :math:`\sqrt{t_0/t}` (the
    Polyak–Ruppert regime, whose averaged iterate has vanishing step-size bias);
    ``"linear"`` g = 1 − t/T; or a callable t ↦ g.

    Parameters
    ----------
    X : (n, d) array, y : (n,) array
        Finite data, y valid for the family (``Family.check_y``: binomial y in {0, 1},
        poisson y ≥ 0).
    layer : DropoutLayer
        Any layer of :mod:`dualreg.torch.layers`, driven through its public trainer
        protocol (:class:`~dualreg.torch.layers.DropoutLayer`); its ``generator`` is bound to
        the run's seeded generator during training (and restored after).
    family : str or Family
        A registered family (``dualreg.families.FAMILIES``) or a family object.
    replicas : int
        K, the number of independent replicas.
    steps : int
        T, SGD steps per replica.
    burn_in : int, optional
        Steps discarded before averaging (default T/2).
    average : {"polyak", "last"}
    device : None picks CUDA when available.
    init : (d,) or (K, d) array, optional
        Initial weights (default 0), e.g. a shared start with a deterministic solver.
    scale_every : int
        For non-gaussian families, recompute :math:`c_j(w)` (needed by rules that depend on
        it) every this many steps on the full data.

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    ValueError
        Bad arguments or non-finite data (the message names the argument).
    FloatingPointError
        A NaN/inf appeared during training: the message names the step and the quantity.
    """
    if not isinstance(layer, DropoutLayer):
        raise ValueError(f"layer must be a dualreg.torch DropoutLayer, got {type(layer).__name__}")
    fam = get_family(family)
    X_np = as_finite_array(X, "X")
    y_np = as_finite_array(y, "y")
    if X_np.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {X_np.shape}")
    if y_np.ndim != 1 or y_np.shape[0] != X_np.shape[0]:
        raise ValueError(
            f"y must be 1-D with {X_np.shape[0]} entries (rows of X), got shape {y_np.shape}"
        )
    y_np = fam.check_y(y_np)
    n, d = X_np.shape
    if n == 0 or d == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {X_np.shape}")
    K = _as_int(replicas, "replicas", 1)
    T = _as_int(steps, "steps", 1)
    if batch is not None:
        batch = _as_int(batch, "batch", 1)
    lr = check_scalar(lr, "lr", 0.0, np.inf, low_inclusive=False, high_inclusive=False)
    if average not in ("polyak", "last"):
        raise ValueError(f"average must be 'polyak' or 'last', got {average!r}")
    burn = T // 2 if burn_in is None else _as_int(burn_in, "burn_in", 0)
    if burn >= T:
        raise ValueError(f"burn_in must be < steps ({T}), got {burn}")
    step_factor = _schedule_fn(schedule, T, burn)
    scale_every = _as_int(scale_every, "scale_every", 1)
    if trace_every is None:
        trace_every = max(1, T // 100)
    trace_every = _as_int(trace_every, "trace_every", 1)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    dev = resolve_device(device)
    intercept = check_bool(intercept, "intercept")
    progress = check_bool(progress, "progress")

    gen = torch.Generator(device=dev)
    gen.manual_seed(check_seed(seed))
    # Stored column-major (a transposed view of a contiguous (d, n) tensor): the hot product
    # w @ X.T then reads contiguous memory, several times faster than a strided transpose.
    Xt = torch.as_tensor(np.ascontiguousarray(X_np.T), dtype=dtype, device=dev).T
    yt = torch.as_tensor(y_np, dtype=dtype, device=dev)

    w0 = torch.zeros(K, d, dtype=dtype, device=dev)
    if init is not None:
        init_np = as_finite_array(init, "init")
        if init_np.shape not in ((d,), (K, d)):
            raise ValueError(f"init must have shape ({d},) or ({K}, {d}), got {init_np.shape}")
        w0 = w0 + torch.as_tensor(init_np, dtype=dtype, device=dev)
    params: dict[str, Tensor] = {"coef": w0.requires_grad_(True)}
    if intercept:
        params["intercept"] = torch.zeros(K, dtype=dtype, device=dev, requires_grad=True)
    layer.build((K, d), device=dev, dtype=dtype)
    layer_params = layer.replica_parameters()
    params.update(layer_params)
    averages = {k: v.detach().clone() for k, v in params.items()}
    names = list(params)
    quantities = ["loss"] + [f"gradient of {k}" for k in names] + names
    ok = torch.ones(T, len(quantities), dtype=torch.bool, device=dev)

    scales = column_scale(Xt, params["coef"], None, fam) if fam.constant_curvature else None
    trace_rows: list[tuple[int, float, Tensor, Tensor]] = []
    start = time.perf_counter()
    checked = 0

    def check(upto: int) -> None:
        nonlocal checked
        if upto <= checked:
            return
        block = ok[checked:upto]
        if not bool(block.all()):
            bad = (~block).nonzero()[0]
            step, q = checked + int(bad[0]), quantities[int(bad[1])]
            raise FloatingPointError(
                f"non-finite {q} at step {step} of {T} (lr {lr * step_factor(step):.3g}): "
                "lower lr, or check the data and the layer's rates"
            )
        checked = upto

    with layer.training_session(gen):
        bar = tqdm(total=T, disable=not progress, desc=f"monte_carlo K={K}", leave=False)
        for t in range(T):
            gamma = lr * step_factor(t)
            w = params["coef"]
            b = params.get("intercept")
            if batch is None:
                Xb, yb = Xt, yt
            else:
                idx = torch.randint(n, (K, batch), generator=gen, device=dev)
                Xb, yb = Xt[idx], yt[idx]
            if layer.needs_column_scale:
                if not fam.constant_curvature and t % scale_every == 0:
                    scales = column_scale(Xt, w, b, fam)
                layer.set_column_scale(scales)
            try:
                theta = layer.noisy_linear(Xb, w)
            except ValueError:
                check(t)  # a non-finite weight from an earlier step is the real cause
                raise
            if b is not None:
                theta = theta + b.unsqueeze(-1)
            loss = fam.pointwise_loss_torch(theta, yb).mean(-1) + layer.regularizer(w)
            grads = torch.autograd.grad(loss.sum(), [params[k] for k in names])
            with torch.no_grad():
                for k, g in zip(names, grads, strict=True):
                    params[k].sub_(gamma * g)
                layer.step()  # schedules (warm-up, ramp) advance once per SGD step
                flags = [torch.isfinite(loss).all()]
                flags += [torch.isfinite(g).all() for g in grads]
                flags += [torch.isfinite(params[k]).all() for k in names]
                ok[t] = torch.stack(flags)
                if average == "polyak" and t >= burn:
                    m = t - burn + 1
                    for k in names:
                        averages[k].add_((params[k] - averages[k]) / m)
                if t % trace_every == 0 or t == T - 1:
                    trace_rows.append((t, gamma, loss.mean(), w.mean(0).clone()))
            if (t + 1) % 64 == 0:
                check(t + 1)
            bar.update(1)
        check(T)
        bar.close()
    seconds = time.perf_counter() - start

    if average == "last":
        averages = {k: v.detach().clone() for k, v in params.items()}
    out = {k: v.detach().cpu().numpy().astype(np.float64) for k, v in averages.items()}
    coef = out.pop("coef")
    coef_mean, coef_se = _mean_se(coef)
    icpt = out.pop("intercept", None)
    if icpt is not None:
        im, ise = _mean_se(icpt[:, None])
        i_mean, i_se = float(im[0]), float(ise[0])
    else:
        i_mean = i_se = None
    trace = {
        "step": np.array([r[0] for r in trace_rows]),
        "lr": np.array([r[1] for r in trace_rows]),
        "loss": np.array([float(r[2]) for r in trace_rows]),
        "coef": np.stack([r[3].cpu().numpy() for r in trace_rows]),
    }
    return MonteCarloResult(
        coef=coef,
        coef_mean=coef_mean,
        coef_se=coef_se,
        intercept=icpt,
        intercept_mean=i_mean,
        intercept_se=i_se,
        state=out,
        column_scale=None if scales is None else scales.detach().cpu().numpy(),
        trace=trace,
        replicas=K,
        steps=T,
        burn_in=burn,
        seconds=seconds,
        device=str(dev),
        layer=repr(layer),
        meta={"family": fam.name, "batch": batch, "lr": lr, "seed": seed},
    )
