r"""Monte-Carlo dropout training of any ``nn.Module``: K replicas as one batched program.

The GLM trainer :func:`dualreg.torch.monte_carlo` batches a linear model by hand; here the
user's network is batched by :func:`torch.func.vmap` over a leading replica axis of its
parameters **and** buffers (:func:`torch.func.functional_call` on stacked state), so each
replica has its own weights and its own layer state. Replica k minimises

.. math::

    \frac1B\sum_{i\in\text{batch}_k}\ell\big(f(x_i; \theta_k, s_k), y_i\big)
    + \sum_{\text{layers}} \text{layer.regularizer}(\theta_k),

with dropout noise :math:`s_k` from a counter-based hash of (replica key, step, draw,
element) (:class:`dualreg.torch.noise.CounterNoise`): the same numbers a separate run with
that key draws, so K batched replicas equal K separate runs to float rounding.

The optimizer is one ``torch.optim`` optimizer over the stacked tensors. SGD (with momentum,
Nesterov, weight decay), Adam/AdamW (incl. amsgrad, decoupled weight decay), RMSprop,
Adagrad, … update every element from its own gradient and state (their step counter is
shared, but equal across replicas), so one optimizer over (K, …) tensors is K independent
ones. Optimizers that couple elements are refused: LBFGS (a global line search), Adafactor
(row/column factors over the last two axes), Muon (matrix orthogonalisation), SparseAdam.
Norm-based gradient clipping would also couple replicas (not offered).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.utils import parametrize
from torch.optim.swa_utils import get_swa_multi_avg_fn
from tqdm.auto import tqdm

from dualreg._validation import as_finite_array, check_scalar
from dualreg.torch.layers.base import DropoutLayer
from dualreg.torch.model import dropout_layers, regularization, step_schedules
from dualreg.torch.noise import CounterNoise, batch_indices, replica_keys
from dualreg.torch.train import _as_int, _mean_se, _schedule_fn, resolve_device

__all__ = ["LOSSES", "ModuleMonteCarloResult", "monte_carlo_module"]

LOSSES = ("mse", "gaussian", "cross_entropy")
COUPLED_OPTIMIZERS = ("LBFGS", "Adafactor", "Muon", "SparseAdam")
RANDOMNESS = ("error", "different", "same")


# --------------------------------------------------------------------------- losses
def _match(out: Tensor, target: Tensor) -> Tensor:
    if out.dim() == target.dim() + 1 and out.shape[-1] == 1:
        return out.squeeze(-1)
    return out


def mse_loss(out: Tensor, target: Tensor) -> Tensor:
    r"""Mean squared error :math:`\tfrac1B\sum_i (f_i - y_i)^2` (an (B, 1) output is squeezed)."""
    return F.mse_loss(_match(out, target), target)


def gaussian_loss(out: Tensor, target: Tensor) -> Tensor:
    r"""The gaussian GLM loss :math:`\tfrac1{2B}\sum_i (y_i - f_i)^2` (docs/conventions.md §1)."""
    return 0.5 * F.mse_loss(_match(out, target), target)


_LOSS_FNS = {"mse": mse_loss, "gaussian": gaussian_loss, "cross_entropy": F.cross_entropy}


# --------------------------------------------------------------------------- result
@dataclass
class ModuleMonteCarloResult:
    r"""Outcome of :func:`monte_carlo_module` (numpy arrays, parameters in float64).

    Attributes
    ----------
    params : dict of (K, ...) arrays
        Each replica's averaged parameters (Polyak average after burn-in, or the last iterate
        with ``average="last"``), keyed as ``model.named_parameters()``.
    params_mean, params_se : dict of (...) arrays
        Mean across replicas and its standard error :math:`s/\sqrt K` (NaN for K = 1).
    buffers : dict of (K, ...) arrays
        Each replica's buffers (layer state, BatchNorm statistics) after the last step.
    seeds : (K,) int64
        The replica keys: ``seed=[seeds[k]]`` reruns replica k alone.
    trace : dict
        ``step``, ``lr``, ``loss`` (mean sampled loss over replicas) every ``trace_every`` steps.
    """

    params: dict[str, np.ndarray]
    params_mean: dict[str, np.ndarray]
    params_se: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    seeds: np.ndarray
    trace: dict[str, np.ndarray]
    replicas: int
    steps: int
    burn_in: int
    seconds: float
    device: str
    model: str
    meta: dict[str, Any] = field(default_factory=dict)

    def state_dict(self, k: int) -> dict[str, Tensor]:
        """Replica ``k``'s averaged parameters and last buffers, keyed like ``model``."""
        k = _as_int(k, "k", 0)
        if k >= self.replicas:
            raise ValueError(f"k must be < replicas ({self.replicas}), got {k}")
        out = {n: torch.as_tensor(v[k]) for n, v in self.params.items()}
        out.update({n: torch.as_tensor(v[k]) for n, v in self.buffers.items()})
        return out

    def load_into(self, model: nn.Module, k: int) -> nn.Module:
        """Copy replica ``k``'s state into ``model`` (same architecture) and return it."""
        with torch.no_grad():
            for name, t in [*model.named_parameters(), *model.named_buffers()]:
                src = self.state_dict(k).get(name)
                if src is not None:
                    t.copy_(src.to(dtype=t.dtype, device=t.device))
        return model


# --------------------------------------------------------------------------- helpers
class _Replica(nn.Module):
    """The user's model plus its layers' regularisers (:func:`regularization`), so one
    ``functional_call`` swaps the replica's state in for both."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        out = self.model(x)
        has_reg = any(_regularised(layer) for layer in dropout_layers(self.model))
        return out, regularization(self.model) if has_reg else None


def _regularised(layer: DropoutLayer) -> bool:
    """Whether ``layer`` adds a loss term (it overrides ``regularizer``)."""
    return type(layer).regularizer is not DropoutLayer.regularizer


def _as_data(a: Any, name: str, dtype: torch.dtype | None, dev: torch.device) -> Tensor:
    if isinstance(a, Tensor):
        if a.is_floating_point() and not bool(torch.isfinite(a).all()):
            raise ValueError(f"{name} must be finite (it has NaN or inf entries)")
        t = a.detach()
    else:
        t = torch.as_tensor(as_finite_array(a, name))
    if dtype is not None:
        t = t.to(dtype)
    return t.to(dev)


def _check_optimizer(optimizer: Any) -> None:
    cls = optimizer if isinstance(optimizer, type) else None
    if cls is not None and not issubclass(cls, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer class or a factory, got "
                         f"{cls.__name__}")
    if cls is None and not callable(optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer class or a factory "
                         f"params -> Optimizer, got {optimizer!r}")
    if cls is not None and cls.__name__ in COUPLED_OPTIMIZERS:
        raise ValueError(f"optimizer {cls.__name__} couples the elements of a tensor, so over "
                         "stacked replicas it would couple the replicas: use an elementwise "
                         "optimizer (SGD, Adam, AdamW, RMSprop, ...)")


def _stack_state(model: nn.Module, K: int, init: str, keys: Tensor
                 ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(K, ...) copies of the parameters (leaves, trainable as in ``model``) and buffers."""
    copies = [model] * K
    if init == "reset":
        for name, m in model.named_modules():
            if parametrize.is_parametrized(m):
                raise ValueError(f"init='reset' cannot re-initialise the parametrized module "
                                 f"{name!r}: use init='shared'")
        copies = []
        for k in range(K):
            replica = copy.deepcopy(model)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(keys[k]) & ((1 << 63) - 1))
                for m in replica.modules():
                    if hasattr(m, "reset_parameters"):
                        m.reset_parameters()
            copies.append(replica)
    params = {}
    for name, p in model.named_parameters():
        reps = [dict(c.named_parameters())[name].detach() for c in copies]
        params[name] = torch.stack(reps).clone().requires_grad_(p.requires_grad)
    buffers = {n: b.detach().unsqueeze(0).repeat(K, *([1] * b.dim()))
               for n, b in model.named_buffers()}
    return params, buffers


def _culprit(replica: _Replica, run: Callable[[], Any]) -> str | None:
    """Rerun the failing step with hooks; the innermost module entered but not left."""
    stack: list[str] = []
    handles = []
    for name, m in replica.model.named_modules():
        label = f"{name or 'model'} ({type(m).__name__})"
        handles.append(m.register_forward_pre_hook(lambda *_, s=label: stack.append(s)))
        handles.append(m.register_forward_hook(lambda *_: stack.pop()))
    try:
        run()
    except Exception:  # only locating the failure
        if stack:
            return stack[-1]
        return "the layers' regularisers or loss_fn"
    finally:
        for h in handles:
            h.remove()
    return None


# --------------------------------------------------------------------------- trainer
def monte_carlo_module(
    model: nn.Module,
    X: Any,
    y: Any,
    loss: str = "mse",
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    replicas: int = 16,
    steps: int = 2000,
    batch: int | None = None,
    lr: float = 0.01,
    optimizer: Any = torch.optim.SGD,
    optimizer_options: dict[str, Any] | None = None,
    schedule: Any = "constant",
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    average: str = "polyak",
    burn_in: int | None = None,
    init: str = "shared",
    device: Any = None,
    dtype: torch.dtype = torch.float64,
    seed: int | Sequence[int] = 0,
    randomness: str = "error",
    progress: bool = True,
    trace_every: int | None = None,
) -> ModuleMonteCarloResult:
    r"""Train K replicas of ``model`` with sampled dropout noise, batched; average the iterates.

    Step t of replica k: rows ``batch_k(t)`` (``batch`` rows with replacement drawn from the
    replica's key — **per-replica minibatches** — or all n rows, shared), noise from
    ``CounterNoise(key_k)`` in every :class:`DropoutLayer`, the loss
    :math:`\mathrm{loss\_fn}(f(X_b), y_b) + \sum` layer regularisers (weight-target layers
    attached by :func:`parametrize_weight`), one optimizer step at
    :math:`\gamma_t = \mathrm{lr}\cdot g(t)` (``schedule`` as in :func:`monte_carlo`, via
    ``LambdaLR``), then :func:`step_schedules`. The result is each replica's Polyak average
    :math:`\bar\theta = \tfrac1{T-t_0}\sum_{t\ge t_0}\theta_t` (``swa_utils``' running mean),
    the mean over replicas and :math:`\mathrm{se} = \mathrm{sd}/\sqrt K`.

    Parameters
    ----------
    model : nn.Module
        Trained on a copy (``model`` is not modified), in ``train()`` mode, cast to ``dtype``.
        Its forward must be vmap-safe (no ``.item()``, ``int(tensor)`` or data-dependent
        Python branching); a layer that is not raises a ``ValueError`` naming it. ``nn.Dropout``
        and other torch random ops need ``randomness="different"`` and then do **not** match
        separate runs: use dualreg's :class:`BernoulliDropout` (``target="input"``).
    X : (n, ...) array or tensor; y : (n, ...) array or tensor
        Finite data; y is cast to ``dtype`` except for ``loss="cross_entropy"`` (class
        indices, int64).
    loss : {"mse", "gaussian", "cross_entropy"}
        Default ``loss_fn``: :math:`\overline{(f-y)^2}`, :math:`\tfrac12\overline{(f-y)^2}` (the
        GLM convention), or ``F.cross_entropy``.
    loss_fn : callable (output, target) -> scalar, optional
        The per-replica mean loss (runs under vmap: one replica's tensors).
    optimizer : torch.optim.Optimizer class or callable params -> Optimizer
        A class is built as ``optimizer(params, lr=lr, **optimizer_options)``.
    scheduler : callable optimizer -> LRScheduler, optional
        Replaces ``schedule`` (e.g. ``lambda o: CosineAnnealingLR(o, steps)``), stepped once per
        step. ``ReduceLROnPlateau`` is refused: its decision on one shared loss would couple
        the replicas.
    average : {"polyak", "last"}
    init : {"shared", "reset"}
        Every replica starts from ``model``'s parameters, or from ``reset_parameters()``
        under ``torch.manual_seed`` of its key.
    seed : int or sequence of K ints
        An int gives replica keys ``replica_keys(seed, K)`` (``result.seeds``); a sequence is
        used as the keys, so ``seed=[result.seeds[k]]`` reproduces replica k alone.
    randomness : {"error", "different", "same"}
        ``vmap``'s policy for torch's own random ops in the model.

    Returns
    -------
    ModuleMonteCarloResult

    Raises
    ------
    ValueError
        Bad arguments, non-finite data, or a layer that is not vmap-safe (named).
    FloatingPointError
        A NaN/inf appeared during training: the message names the step and the quantity.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if loss_fn is None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        loss_fn = _LOSS_FNS[loss]
    elif not callable(loss_fn):
        raise ValueError(f"loss_fn must be a callable (output, target) -> loss, got {loss_fn!r}")
    K = _as_int(replicas, "replicas", 1)
    T = _as_int(steps, "steps", 1)
    lr = check_scalar(lr, "lr", 0.0, np.inf, low_inclusive=False, high_inclusive=False)
    if average not in ("polyak", "last"):
        raise ValueError(f"average must be 'polyak' or 'last', got {average!r}")
    burn = T // 2 if burn_in is None else _as_int(burn_in, "burn_in", 0)
    if burn >= T:
        raise ValueError(f"burn_in must be < steps ({T}), got {burn}")
    step_factor = _schedule_fn(schedule, T, burn)
    if scheduler is not None and not callable(scheduler):
        raise ValueError(f"scheduler must be a callable optimizer -> LRScheduler, got "
                         f"{scheduler!r}")
    _check_optimizer(optimizer)
    if init not in ("shared", "reset"):
        raise ValueError(f"init must be 'shared' or 'reset', got {init!r}")
    if randomness not in RANDOMNESS:
        raise ValueError(f"randomness must be one of {RANDOMNESS}, got {randomness!r}")
    trace_every = max(1, T // 100) if trace_every is None else trace_every
    trace_every = _as_int(trace_every, "trace_every", 1)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    dev = resolve_device(device)
    classes = loss_fn is F.cross_entropy
    Xt = _as_data(X, "X", dtype if not (isinstance(X, Tensor) and not X.is_floating_point())
                  else None, dev)
    yt = _as_data(y, "y", torch.int64 if classes else dtype, dev)
    if Xt.dim() < 1 or yt.dim() < 1 or yt.shape[0] != Xt.shape[0]:
        raise ValueError(f"y must have {Xt.shape[0] if Xt.dim() else 0} rows (as X), got shape "
                         f"{tuple(yt.shape)}")
    n = Xt.shape[0]
    if batch is not None:
        batch = _as_int(batch, "batch", 1)
    keys = replica_keys(seed, K)

    net = copy.deepcopy(model).to(device=dev, dtype=dtype)
    replica = _Replica(net)
    noise = CounterNoise()
    layers = list(dropout_layers(net))
    own_step = any(type(layer).step is not DropoutLayer.step for layer in layers)
    with ExitStack() as sessions:
        for layer in layers:
            sessions.enter_context(layer.training_session(None))  # resets per-run state
            layer.noise_source = noise
        net.train()
        params, buffers = _stack_state(net, K, init, keys)
        names = [k for k, p in params.items() if p.requires_grad]
        if not names:
            raise ValueError("model has no trainable parameters")
        trainable = [params[k] for k in names]
        opts = dict(optimizer_options or {})
        opt = optimizer(trainable, lr=lr, **opts) if isinstance(optimizer, type) else \
            optimizer(trainable)
        if not isinstance(opt, torch.optim.Optimizer):
            raise ValueError(f"optimizer must build a torch.optim.Optimizer, got "
                             f"{type(opt).__name__}")
        if scheduler is None:
            sched = torch.optim.lr_scheduler.LambdaLR(opt, step_factor)
        else:
            sched = scheduler(opt)
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                raise ValueError("scheduler ReduceLROnPlateau decides on one shared loss, which "
                                 "would couple the replicas: use a step-based scheduler")
        swa = get_swa_multi_avg_fn()
        averages = [p.detach().clone() for p in trainable]
        quantities = ["loss"] + [f"gradient of {k}" for k in names] + names
        ok = torch.ones(T, len(quantities), dtype=torch.bool, device=dev)
        trace_rows: list[tuple[int, float, Tensor]] = []
        keys_dev = keys.to(dev)
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
                    f"non-finite {q} at step {step} of {T}: lower lr, or check the data and "
                    "the model"
                )
            checked = upto

        def one_replica(p: dict, b: dict, key: Tensor, xb: Tensor, yb: Tensor) -> Tensor:
            noise.key, noise.draw = key, 0
            state = {f"model.{k}": v for k, v in p.items()}
            state.update({f"model.{k}": v for k, v in b.items()})
            out, reg = functional_call(replica, state, (xb,))
            value = loss_fn(out, yb)
            return value if reg is None else value + reg

        stepper = _Stepper(net)
        data_dim = None if batch is None else 0
        batched = vmap(one_replica, in_dims=(0, 0, 0, data_dim, data_dim),
                       randomness=randomness)
        start = time.perf_counter()
        bar = tqdm(total=T, disable=not progress, desc=f"monte_carlo_module K={K}", leave=False)
        for t in range(T):
            noise.begin(keys_dev, t)
            if batch is None:
                xb, yb = Xt, yt
            else:
                idx = batch_indices(keys_dev, t, batch, n)
                xb, yb = Xt[idx], yt[idx]
            gamma = opt.param_groups[0]["lr"]

            def run(xb=xb, yb=yb):
                return batched(params, buffers, keys_dev, xb, yb)

            try:
                losses = run()
            except Exception as err:
                check(t)  # a non-finite parameter of an earlier step is the real cause
                where = _culprit(replica, run) or "model"
                hint = (" torch's own random ops (nn.Dropout) need randomness='different' and "
                        "then do not match separate runs: use dualreg's BernoulliDropout"
                        if "random" in str(err) else " layers must be vmap-safe: no .item(), "
                        "int(tensor) or data-dependent Python branching")
                raise ValueError(f"model: {where} failed under vmap over replicas ({err})."
                                 f"{hint}") from err
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()  # replica k's loss depends only on replica k's tensors
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in trainable]
            with torch.no_grad():
                flags = [torch.isfinite(losses).all()]
                flags += [torch.isfinite(g).all() for g in grads]
            opt.step()
            sched.step()
            if own_step:  # a schedule kept in buffers: advance each replica's copy
                functional_call(stepper, {f"model.{k}": v for k, v in buffers.items()}, ())
            else:
                step_schedules(net)
            with torch.no_grad():
                flags += [torch.isfinite(p).all() for p in trainable]
                ok[t] = torch.stack(flags)
                if average == "polyak" and t >= burn:
                    swa(averages, [p.detach() for p in trainable], t - burn)
                if t % trace_every == 0 or t == T - 1:
                    trace_rows.append((t, gamma, losses.detach().mean()))
            if (t + 1) % 64 == 0:
                check(t + 1)
            bar.update(1)
        check(T)
        bar.close()
        seconds = time.perf_counter() - start

    if average == "last":
        averages = [p.detach().clone() for p in trainable]
    avg = dict(zip(names, averages, strict=True))
    out = {k: (avg[k] if k in avg else v.detach()).cpu().numpy().astype(np.float64)
           for k, v in params.items()}
    stats = {k: _mean_se(v) for k, v in out.items()}
    return ModuleMonteCarloResult(
        params=out,
        params_mean={k: s[0] for k, s in stats.items()},
        params_se={k: s[1] for k, s in stats.items()},
        buffers={k: v.detach().cpu().numpy() for k, v in buffers.items()},
        seeds=keys.numpy().copy(),
        trace={
            "step": np.array([r[0] for r in trace_rows]),
            "lr": np.array([r[1] for r in trace_rows]),
            "loss": np.array([float(r[2]) for r in trace_rows]),
        },
        replicas=K,
        steps=T,
        burn_in=burn,
        seconds=seconds,
        device=str(dev),
        model=repr(model),
        meta={"loss": getattr(loss_fn, "__name__", repr(loss_fn)), "batch": batch, "lr": lr,
              "optimizer": type(opt).__name__, "seed": seed, "batches": "per-replica"
              if batch is not None else "full (shared)"},
    )


class _Stepper(nn.Module):
    """:func:`step_schedules` as a forward, so ``functional_call`` can swap the stacked (K, ...)
    buffers in: a schedule kept in a buffer then advances in every replica's copy."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self) -> None:
        step_schedules(self.model)
