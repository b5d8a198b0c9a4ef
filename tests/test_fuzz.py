"""Bad and edge inputs across the public API and the CLI, kept as a data table.

Each :class:`Api` row is a Python expression and what must happen:

- ``"error:NAME"``: a ``ValueError`` (or subclass) whose message contains ``NAME`` (the
  argument, or what the user must change);
- ``"ok:PREDICATE"``: the documented behaviour, ``PREDICATE`` evaluated on the result ``r``.

Each :class:`Cli` row is an argument list for ``dualreg`` and the exit status, with a
fragment its one stderr line must contain (exit 2: user error; 0: documented output).
Placeholders: ``{file}`` an existing plain file, ``{tmp}`` a fresh folder, ``{badmnist}`` a
folder of four corrupt MNIST IDX files.

Every row runs under a time limit (``signal.alarm``) and an address-space limit
(``RLIMIT_AS``, the current size + 1.5 GiB), so a hang or a runaway allocation fails its row
instead of the run. A new bad input found anywhere is one more row here.
``python tests/test_fuzz.py`` prints each row's outcome category (the counts the issue asks
for), also against another checkout with ``PYTHONPATH=<checkout>``.
"""

from __future__ import annotations

import contextlib
import io
import resource
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

TIME_LIMIT_S = 20
EXTRA_MEMORY = 3 << 29  # 1.5 GiB above the process's current size


@dataclass(frozen=True)
class Api:
    id: str
    code: str
    expect: str
    was: str = ""  # what the branch point of issue 15 did, where the issue lists it


@dataclass(frozen=True)
class Cli:
    id: str
    argv: tuple[str, ...]
    status: int
    fragment: str


API = [
    # ---------------------------------------------------------------- penalty constructors
    Api("Lp-None", "pen.Lp(None)", "error:p"),
    Api("Lp-str", "pen.Lp('0.5')", "error:p"),
    Api("Lp-bool", "pen.Lp(True)", "error:p"),
    Api("Lp-zero", "pen.Lp(0)", "error:p"),
    Api("Lp-too-big", "pen.Lp(2.5)", "error:p"),
    Api("Lp-nan", "pen.Lp(float('nan'))", "error:p"),
    Api("Lp-inf", "pen.Lp(np.inf)", "error:p"),
    Api("Lp-list", "pen.Lp([0.5])", "error:p"),
    Api("LogSum-neg", "pen.LogSum(-1)", "error:eps"),
    Api("LogSum-str", "pen.LogSum('1')", "error:eps"),
    Api("Log2Sum-zero", "pen.Log2Sum(0)", "error:eps"),
    Api("MCP-a0", "pen.MCP(a=0)", "error:a"),
    Api("MCP-scale", "pen.MCP(scale=-1)", "error:scale"),
    Api("SCAD-a1", "pen.SCAD(a=1)", "error:a"),
    Api("SCAD-bool", "pen.SCAD(a=True)", "error:a"),
    Api("CappedL2-tau0", "pen.CappedL2(tau=0)", "error:tau"),
    Api("CappedL2-None", "pen.CappedL2(tau=None)", "error:tau"),
    Api("Targeted-rate1", "pen.TargetedDropout(rate=1)", "error:rate"),
    Api("Targeted-neg", "pen.TargetedDropout(rate=-0.1)", "error:rate"),
    Api("Sparseout-q0", "pen.Sparseout(q=0)", "error:q"),
    Api("Sparseout-drop1", "pen.Sparseout(drop=1.0)", "error:drop"),
    Api("Sparseout-grad", "pen.Sparseout(grad='backprop')", "error:grad"),
    Api("Sparseout-grad-None", "pen.Sparseout(grad=None)", "error:grad"),
    Api("YDrop-mirrored-no", "pen.YDrop(mirrored='no')", "error:mirrored", "wrong"),
    Api("YDrop-mirrored-1", "pen.YDrop(mirrored=1)", "error:mirrored", "wrong"),
    Api("YDrop-mapping", "pen.YDrop(mapping='linear')", "error:mapping"),
    Api("YDrop-order", "pen.YDrop(p_low=0.6, p_high=0.5)", "error:p_low"),
    Api("YDrop-tau", "pen.YDrop(tau=0)", "error:tau"),
    Api("HC-beta100", "pen.HardConcrete(beta=100).value([1.0])", "error:beta", "raw"),
    Api("HC-beta0", "pen.HardConcrete(beta=0)", "error:beta"),
    Api("HC-gamma", "pen.HardConcrete(gamma=0.1)", "error:gamma"),
    Api("HC-zeta", "pen.HardConcrete(zeta=1)", "error:zeta"),
    Api("HardThreshold-neg", "pen.HardThreshold(-1)", "error:k"),
    Api("HardThreshold-frac", "pen.HardThreshold(1.5)", "error:k"),
    Api("HardThreshold-bool", "pen.HardThreshold(True)", "error:k"),
    Api("ARD-maxiter0", "pen.ARD(np.eye(2), max_iter=0)", "error:max_iter", "wrong"),
    Api("ARD-maxiter-frac", "pen.ARD(np.eye(2), max_iter=1.5)", "error:max_iter", "wrong"),
    Api("ARD-X-1d", "pen.ARD(np.ones(3))", "error:X"),
    Api("ARD-tau", "pen.ARD(np.eye(2), tau=0)", "error:tau"),
    Api("TwoLevel-neg", "pen.TwoLevelQuadratic(-1, 0, 1)", "error:r_below"),
    Api("Power-q", "pen.Power(q=-1)", "error:q"),
    Api("Power-weight", "pen.Power(1, weight=-1)", "error:weight"),
    # ---------------------------------------------------------------- faces: bad input
    Api("value-str", "pen.L1().value('abc')", "error:w"),
    Api("value-numeric-str", "pen.L1().value('1.5')", "error:w"),
    Api("value-None", "pen.L1().value(None)", "error:w"),
    Api("value-mixed", "pen.L1().value([1, 'a'])", "error:w"),
    Api("value-nan", "pen.L1().value([np.nan])", "error:w"),
    Api("value-inf", "pen.L1().value([np.inf])", "error:w"),
    Api("value-bool", "pen.L1().value(True)", "error:w"),
    Api("derivative-nan", "pen.L1().derivative([np.nan])", "error:w"),
    Api("eta_hat-str", "pen.L1().eta_hat('1')", "error:w"),
    Api("dual-neg", "pen.L1().dual([-1.0])", "error:eta"),
    Api("dual-nan", "pen.L1().dual([np.nan])", "error:eta"),
    Api("dual-str", "pen.L1().dual('x')", "error:eta"),
    Api("prox-neg-step", "pen.L1().prox([1.0], -1)", "error:step"),
    Api("prox-inf", "pen.L1().prox([np.inf], 1)", "error:v"),
    Api("prox-str", "pen.L1().prox(['a'], 1)", "error:v"),
    Api("keep_prob-lam", "pen.L1().keep_prob([1.0], lam=-1)", "error:lam"),
    Api("keep_prob-c", "pen.L1().keep_prob([1.0], 1.0, c=0)", "error:c"),
    Api("noise_variance-c", "pen.L1().noise_variance([1.0], 1.0, c=-1)", "error:c"),
    Api("subdiff-grad", "pen.L1().subdiff_distance([1.0], [np.nan], 1.0)", "error:grad"),
    Api("subdiff-lam", "pen.L1().subdiff_distance([1.0], [1.0], -1.0)", "error:lam"),
    Api("dual-superquadratic", "pen.YDrop().dual([1.0])", "error:no η-trick dual"),
    Api("ARD-total-shape", "pen.ARD(np.eye(2)).total(np.ones(3))", "error:w"),
    Api("ARD-dual-neg", "pen.ARD(np.eye(2)).dual([-1, 1])", "error:eta"),
    Api("HardThreshold-value", "pen.HardThreshold(1).value([1.0])", "error:not separable"),
    # ---------------------------------------------------------------- faces: documented
    Api("CappedL2-1e300", "pen.CappedL2().value([1e300])", "ok:r[0] == 0.5", "wrong"),
    Api("Targeted-1e300", "pen.TargetedDropout().value([1e300])", "ok:r[0] == 0.5", "wrong"),
    Api("Log2Sum-1e300", "pen.Log2Sum().value([1e300])",
        "ok:np.isclose(r[0], 600 * np.log(10))", "wrong"),
    Api("YDrop-prox-1e300", "pen.YDrop().prox([1e300], .3)",
        "ok:np.isclose(r[0], 1e300 / 1.3)", "wrong"),
    Api("Log2Sum-prox-1e300", "pen.Log2Sum().prox([1e300], 1.0)",
        "ok:np.isclose(r[0], 1e300)", "wrong"),
    Api("VarDrop-prox-1e300", "pen.VarDrop().prox([1e300], 1.0)",
        "ok:np.isclose(r[0], 1e300)", "wrong"),
    Api("Lp-prox-step0", "pen.Lp(0.5).prox(1e-300, step=0)", "ok:r == 1e-300", "wrong"),
    Api("Sparseout-drop0-eta", "pen.Sparseout(drop=0).eta_hat([0.])",
        "ok:np.isinf(r[0])", "wrong"),
    Api("Sparseout-drop0-dual", "pen.Sparseout(drop=0).dual([1.0])", "ok:r[0] == 0.0", "wrong"),
    Api("L1-prox-subnormal", "pen.L1().prox([5e-324], 1)", "ok:r[0] == 0"),
    Api("Ridge-overflow", "pen.Ridge().value([1e300])", "ok:np.isposinf(r[0])"),
    Api("L1-minus-zero", "pen.L1().value([-0.0])", "ok:r[0] == 0"),
    Api("Lp03-prox-1e300", "pen.Lp(0.3).prox([1e300], 1)", "ok:np.isclose(r[0], 1e300)"),
    Api("VarDrop-1e200", "pen.VarDrop().value([1e200])",
        "ok:np.isfinite(r[0]) and r[0] > 400"),
    Api("MCP-dual-max", "pen.MCP().dual([1.7e308])", "ok:np.isclose(r[0], 3.0)"),
    Api("LogSum-dual-1e308", "pen.LogSum().dual([1e308])", "ok:np.isfinite(r[0])"),
    # ---------------------------------------------------------------- rule-built penalties
    Api("rule-float", "pen.from_eta_hat(3.0)", "error:eta_hat"),
    Api("rule-None", "pen.from_eta_hat(None)", "error:eta_hat"),
    Api("rule-negative", "pen.from_eta_hat(lambda t: -np.ones_like(t))", "error:eta_hat"),
    Api("rule-nan", "pen.from_eta_hat(lambda t: np.full_like(t, np.nan))", "error:eta_hat"),
    Api("rule-tmax0", "pen.from_eta_hat(lambda t: t, t_max=0)", "error:t_max"),
    Api("rule-tmax-huge", "pen.from_eta_hat(lambda t: t, t_max=1e200)", "error:t_max"),
    Api("rule-name", "pen.from_eta_hat(lambda t: t, name=3)", "error:name"),
    Api("keep-lam0", "pen.from_keep_prob(lambda t: np.full_like(t, .5), 0.0)", "error:lam"),
    Api("keep-c0", "pen.from_keep_prob(lambda t: np.full_like(t, .5), 1.0, c=0)", "error:c"),
    Api("keep-str", "pen.from_keep_prob('x', 1.0)", "error:keep_prob"),
    Api("keep-above-1", "pen.from_keep_prob(lambda t: 1.0 + t, 1.0)", "error:keep_prob"),
    Api("rule-subnormal", "pen.from_eta_hat(lambda t: t * (1 + t)).value([1e-310])",
        "ok:np.isclose(r[0], 1e-310, rtol=1e-6)", "hang"),
    Api("keep-step-rule", "pen.from_keep_prob(lambda t: (t > 1) * 1., 1.).value([2.])",
        "ok:np.isposinf(r[0])", "hang"),
    Api("rule-1e20", "pen.from_eta_hat(lambda t: t * (1 + t)).value([1e20])",
        "ok:np.isclose(r[0], np.log1p(1e20))", "wrong"),
    Api("rule-overflow", "pen.from_eta_hat(lambda t: t * (1 + t)).value([1e300])",
        "error:eta_hat", "wrong"),
    Api("rule-dual-range", "pen.from_eta_hat(lambda t: t).dual([1e10, 1e-300])",
        "ok:np.allclose(r, [1e10, 1e-300], rtol=1e-9, atol=0)", "wrong"),
    # ---------------------------------------------------------------- duality helpers
    Api("drop_odds-2", "duality.drop_odds(2)", "error:alpha", "wrong"),
    Api("drop_odds-neg", "duality.drop_odds(-0.5)", "error:alpha", "wrong"),
    Api("drop_odds-str", "duality.drop_odds('a')", "error:alpha"),
    Api("drop_odds-0", "duality.drop_odds(0.0)", "ok:np.isposinf(r)"),
    Api("eta_hat_from_value-0", "duality.eta_hat_from_value(pen.L1().value, [0])",
        "ok:r[0] == 0", "wrong"),
    Api("eta_hat_from_value-smooth-0", "duality.eta_hat_from_value(pen.Log2Sum().value, [0])",
        "ok:np.isclose(r[0], 0.5, rtol=1e-6)"),
    Api("dual_from_value-0", "duality.dual_from_value(pen.L1().value, [0])",
        "ok:r[0] == 0", "wrong"),
    Api("dual_from_value-neg", "duality.dual_from_value(pen.L1().value, [-1])", "error:eta"),
    Api("classify-rtol", "duality.classify(pen.L1(), rtol=-1)", "error:rtol", "wrong"),
    Api("classify-None", "duality.classify(None)", "error:penalty_or_value", "raw"),
    Api("classify-tmax", "duality.classify(pen.L1(), t_max=1e200)", "error:t_max", "raw"),
    Api("classify-n", "duality.classify(pen.L1(), n=2)", "error:n"),
    Api("classify-n-frac", "duality.classify(pen.L1(), n=10.5)", "error:n"),
    Api("eta_to_keep_prob-neg", "duality.eta_to_keep_prob([-1], 1)", "error:eta"),
    Api("keep_prob_to_eta-1.5", "duality.keep_prob_to_eta([1.5], 1)", "error:alpha"),
    Api("eta_to_noise_variance-lam", "duality.eta_to_noise_variance([1], -1)", "error:lam"),
    Api("noise_variance_to_eta-neg", "duality.noise_variance_to_eta([-1], 1)",
        "error:sigma2"),
    Api("value_from_eta_hat-None", "duality.value_from_eta_hat(None, [1])", "error:eta_hat"),
    Api("value_from_dual-eta_lo", "duality.value_from_dual(lambda e: e, [1], eta_lo=0)",
        "error:eta_lo"),
    Api("eta_hat_from_value-step", "duality.eta_hat_from_value(pen.L1().value, [1], "
        "rel_step=0)", "error:rel_step"),
    Api("dual_from_eta_hat-str", "duality.dual_from_eta_hat('x', pen.L1().value, [1])",
        "error:eta_hat"),
    # ---------------------------------------------------------------- torch (skipped without)
    Api("torch-YDrop-mirrored", "dt.YDrop(mirrored='no')", "error:mirrored", "wrong"),
    Api("torch-YDrop-warmup", "dt.YDrop(warmup=1.5)", "error:warmup", "wrong"),
    Api("torch-Bernoulli-p", "dt.BernoulliDropout(p=1.0)", "error:p"),
    Api("torch-Bernoulli-target", "dt.BernoulliDropout(0.3, target='bias')", "error:target"),
    Api("mc-cuda", "mc(device='cuda')",
        "error:device", "raw"),
    Api("mc-empty-X", "dt.monte_carlo(np.empty((0, 3)), np.empty(0), "
        "dt.BernoulliDropout(0.3), steps=4, progress=False)", "error:X", "raw"),
    Api("mc-seed-float", "mc(seed=1.7)", "error:seed", "wrong"),
    Api("mc-seed-neg", "mc(seed=-1)", "error:seed"),
    Api("mc-replicas0", "mc(replicas=0)", "error:replicas"),
    Api("mc-steps-bool", "mc(steps=True)", "error:steps"),
    Api("mc-device-bad", "mc(device='gpu9')", "error:device"),
    Api("mc-lr0", "mc(lr=0)", "error:lr"),
    Api("mc-intercept-str", "mc(intercept='yes')", "error:intercept"),
]

CLI = [
    Cli("penalty-unknown", ("penalty", "NoSuch"), 2, "NoSuch"),
    Cli("penalty-param-str", ("penalty", "Lp", "--param", "p=abc"), 2, "p must"),
    Cli("penalty-param-form", ("penalty", "Lp", "--param", "p"), 2, "--param"),
    Cli("penalty-mirrored-no", ("penalty", "YDrop", "--param", "mirrored=no"), 2, "mirrored"),
    Cli("penalty-w-nan", ("penalty", "L1", "--w", "nan"), 2, "--w"),
    Cli("penalty-lam", ("penalty", "L1", "--lam", "-1"), 2, "--lam"),
    Cli("penalty-c", ("penalty", "L1", "--c", "0"), 2, "--c"),
    Cli("penalty-plot-suffix", ("penalty", "L1", "--plot", "x.txt"), 2, "--plot"),
    Cli("penalty-plot-unwritable", ("penalty", "L1", "--plot", "{file}/x.png"), 2, "--plot"),
    Cli("penalty-plot-folder", ("penalty", "L1", "--plot", "{tmp}"), 2, "--plot"),
    Cli("penalty-wmax", ("penalty", "L1", "--wmax", "0"), 2, "--wmax"),
    Cli("penalty-capped-1e300", ("penalty", "CappedL2", "--w", "1e300"), 0, ""),
    Cli("penalty-drop0", ("penalty", "Sparseout", "--param", "drop=0"), 0, ""),
    Cli("verify-out-file", ("verify", "--only", "T4.keep-prob", "--out", "{file}"), 2,
        "--out"),
    Cli("verify-out-under-file", ("verify", "--only", "T4.keep-prob", "--out", "{file}/sub"),
        2, "--out"),
    Cli("verify-seed-neg", ("verify", "--seed", "-1"), 2, "--seed"),
    Cli("verify-jobs0", ("verify", "--jobs", "0"), 2, "--jobs"),
    Cli("verify-only-unknown", ("verify", "--only", "NOPE"), 2, "NOPE"),
    Cli("verify-seeds-range", ("verify", "--seeds", "5:1"), 2, "--seeds"),
    Cli("verify-seed-and-seeds", ("verify", "--seed", "1", "--seeds", "0:2"), 2, "--seed"),
    Cli("verify-seed-str", ("verify", "--seed", "x"), 2, "--seed"),
    Cli("figures-unknown", ("figures", "--only", "nope"), 2, "nope"),
    Cli("figures-out-file", ("figures", "--only", "faces", "--out", "{file}"), 2, "--out"),
    Cli("figures-mnist-missing", ("figures", "--only", "targeted-pruning", "--mnist",
                                  "{tmp}/none"), 2, "--mnist"),
    Cli("figures-mnist-corrupt", ("figures", "--only", "targeted-pruning", "--mnist",
                                  "{badmnist}", "--out", "{tmp}"), 2, "--mnist"),
    Cli("figures-budget-quick", ("figures", "--quick", "--paper-budget"), 2, "--paper-budget"),
    Cli("figures-check-missing", ("figures", "--check", "{tmp}/none"), 2, "--check"),
    Cli("figures-jobs0", ("figures", "--jobs", "0"), 2, "--jobs"),
    Cli("mutate-unknown", ("mutate", "--only", "nope"), 2, "nope"),
    Cli("unknown-flag", ("verify", "--bogus"), 2, "--bogus"),
]


# --------------------------------------------------------------------------- limits
class _Timeout(Exception):
    pass


@contextlib.contextmanager
def limits(seconds: int = TIME_LIMIT_S):
    """A wall-clock alarm and an address-space cap around one row."""
    def on_alarm(*_):
        raise _Timeout(f"no answer within {seconds} s (a hang)")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = _vm_size()
    cap = size + EXTRA_MEMORY if size else resource.RLIM_INFINITY
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, old_handler)


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _namespace() -> dict:
    from dualreg import duality
    from dualreg import penalties as pen

    ns = {"np": np, "pen": pen, "duality": duality}
    try:
        import torch

        import dualreg.torch as dt
    except ImportError:
        return ns
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)

    def mc(**kw):
        opts = {"steps": 4, "replicas": 2, "progress": False, "device": "cpu"}
        opts.update(kw)
        return dt.monte_carlo(X, y, dt.BernoulliDropout(0.3), **opts)

    ns.update(torch=torch, dt=dt, mc=mc)
    return ns


def run_api(case: Api, ns: dict) -> tuple[str, str]:
    """(category, detail): clear-error, documented, wrong, raw-error, hang, memory."""
    try:
        with limits():
            r = eval(case.code, ns)  # the table is code by design
    except _Timeout as err:
        return "hang", str(err)
    except MemoryError as err:
        return "memory", f"MemoryError: {err}"
    except Exception as err:  # classifying every outcome is the point
        kind, _, want = case.expect.partition(":")
        message = f"{type(err).__name__}: {err}"
        if kind == "error" and isinstance(err, ValueError) and want in str(err):
            return "clear-error", message
        return "raw-error", message
    kind, _, want = case.expect.partition(":")
    if kind == "ok":
        with np.errstate(all="ignore"):
            good = bool(eval(want, {**ns, "r": r}))
        return ("documented" if good else "wrong"), repr(r)
    return "wrong", f"returned {r!r} where an error naming {want!r} was due"


def _expand(argv: tuple[str, ...], paths: dict) -> list[str]:
    return [a.format(**paths) for a in argv]


def run_cli(case: Cli, paths: dict) -> tuple[int | None, str, str]:
    """(exit status, stdout, stderr) of ``dualreg.cli.main``; status None for a traceback
    (an exception escaping main)."""
    from dualreg.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with limits(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(_expand(case.argv, paths))
    except BaseException as exc:  # a traceback is the failure we look for
        return None, out.getvalue(), f"{type(exc).__name__}: {exc}"
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def ns():
    return _namespace()


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    return _make_paths(root)


def _make_paths(root: Path) -> dict:
    (root / "afile").write_text("not a folder\n")
    bad = root / "badmnist"
    bad.mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (bad / stem).write_bytes(b"\x13\x37" * 40)
    tmp = root / "tmp"
    tmp.mkdir()
    return {"file": str(root / "afile"), "tmp": str(tmp), "badmnist": str(bad)}


def test_the_table_is_large_enough():
    assert len(API) + len(CLI) >= 100
    assert len({c.id for c in API} | {c.id for c in CLI}) == len(API) + len(CLI)


@pytest.mark.parametrize("row", API, ids=[c.id for c in API])
def test_api_bad_input(row, ns):
    case = row
    if ("dt." in case.code or "mc(" in case.code) and "dt" not in ns:
        pytest.skip("torch is not installed")
    if case.id == "mc-cuda" and ns["torch"].cuda.is_available():
        pytest.skip("CUDA is available here: device='cuda' is valid")
    category, detail = run_api(case, ns)
    want = "clear-error" if case.expect.startswith("error:") else "documented"
    assert category == want, f"{case.code}: {category}: {detail}"


@pytest.mark.parametrize("row", CLI, ids=[c.id for c in CLI])
def test_cli_bad_input(row, paths):
    case = row
    status, out, err = run_cli(case, paths)
    assert status is not None, f"traceback: {err}"
    assert status == case.status, (status, out[-500:], err)
    if status == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dualreg: error:"), err
        assert case.fragment in lines[0], lines[0]
        assert not out.strip(), f"printed before the error: {out[:300]}"
    else:
        assert not err.strip(), err


def test_documented_cli_outputs(paths):
    """The values the issue found wrong, as the table prints them."""
    _, out, _ = run_cli(Cli("", ("penalty", "CappedL2", "--w", "1e300"), 0, ""), paths)
    row = out.strip().splitlines()[-1].split()
    assert row[:2] == ["1e+300", "0.5"], out
    _, out, _ = run_cli(Cli("", ("penalty", "L1", "--w", "0"), 0, ""), paths)
    assert "Ω′(0⁺)" in out.splitlines()[0]
    assert out.strip().splitlines()[-1].split()[2] == "1", out  # Ω′(0⁺) = 1, not 0


def _report() -> None:  # pragma: no cover - ``python tests/test_fuzz.py``
    import collections
    import tempfile

    ns = _namespace()
    counts: collections.Counter = collections.Counter()
    for case in API:
        if ("dt." in case.code or "mc(" in case.code) and "dt" not in ns:
            continue
        category, detail = run_api(case, ns)
        counts[category] += 1
        print(f"{category:<12} {case.id:<28} {detail[:90]}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = _make_paths(Path(tmp))
        for cli_case in CLI:
            status, out, err = run_cli(cli_case, paths)
            lines = err.strip().splitlines()
            if status is None:
                category = "traceback"
            elif status != cli_case.status:
                category = "wrong-status"
            elif status == 2 and (len(lines) != 1 or cli_case.fragment not in lines[0]):
                category = "raw-error"
            else:
                category = "clear-error" if status == 2 else "documented"
            counts["cli-" + category] += 1
            print(f"cli-{category:<8} {cli_case.id:<28} {(err or out).strip()[:90]!r}")
    print(dict(counts))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_report())
