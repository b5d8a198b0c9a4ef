"""CPU time to reach the best objective (to rel 1e-8): IRLS vs skglm vs scikit-learn vs cvxpy.

The problems are the rows of issue 14's table (dense Toeplitz and i.i.d. designs, MCP and LogSum
from a shared ridge start, logistic and poisson ℓ1, a sparse 20000 × 50000 design at 0.1 %).
Every solver minimises the same F = L + λΩ of docs/conventions.md §1 (mean-loss scaling; F is
recomputed in numpy from each solution; MCP is the textbook MCP(λ, γ) = λ·MCP(a=γ, scale=λ),
skglm's ``MCPenalty(λ, γ)``). Solvers expose no common "stop at objective F*" switch, so each is
run along a ladder of its own tolerances and timed (median of ``--repeats``); a solver's time is
that of the cheapest rung whose F is within 1e-8 (relative) of the best F any run reached.
All BLAS libraries are limited to one thread (the same for every solver; numba/skglm is
single-threaded); skglm's numba compilation is done before timing, cvxpy's problem construction
is included (it is part of solving with cvxpy). Nonconvex rows start every solver from the same
ridge solution and have no cvxpy/scikit-learn entry; cvxpy runs only on the small rows.

Usage: ``python benchmarks/solvers.py [--repeats 5] [--quick] [--only TEXT]``. Writes
``benchmarks/results/solvers.md`` atomically (temp file + os.replace) and prints the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from dualreg import _io, families
from dualreg.penalties import L1, MCP, LogSum, Lp
from dualreg.solvers import LINEAR_SOLVERS, irls, lam_max

REL = 1e-8


# ----------------------------------------------------------------------------- problems
def _design(n, d, rho, seed, density=None):
    """Gaussian rows with Toeplitz correlation ρ^|i−j| (AR(1) columns), or a sparse CSC matrix
    with ``density`` of N(0, 1) entries."""
    rng = np.random.default_rng(seed)
    if density is not None:
        from scipy import sparse

        return sparse.random(n, d, density=density, format="csc", random_state=rng,
                             data_rvs=rng.standard_normal)
    Z = rng.standard_normal((n, d))
    if rho == 0:
        return Z
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    s = np.sqrt(1 - rho**2)
    for j in range(1, d):
        X[:, j] = rho * X[:, j - 1] + s * Z[:, j]
    return X


def _truth(d, k, low, high, seed):
    rng = np.random.default_rng(seed + 1000)
    w = np.zeros(d)
    idx = rng.choice(d, k, replace=False)
    w[idx] = rng.choice([-1, 1], k) * rng.uniform(low, high, k)
    return w


def _response(X, w, family, seed, noise=1.0):
    rng = np.random.default_rng(seed + 2000)
    theta = X @ w
    if family == "gaussian":
        return theta + 1.0 + noise * rng.standard_normal(X.shape[0])
    if family == "binomial":
        return (rng.random(X.shape[0]) < 1 / (1 + np.exp(-theta - 0.3))).astype(float)
    return rng.poisson(np.exp(np.clip(theta, -30, 3) + 0.2)).astype(float)


def _problem(name, X, y, family, penalty, lam, convex, mcp_gamma=None):
    return dict(name=name, X=X, y=y, family=family, penalty=penalty, lam=lam, convex=convex,
                mcp_gamma=mcp_gamma)


def problems(quick: bool) -> list[dict]:
    """The rows of issue 14's table (÷ 4 in n and d with ``quick``)."""
    q = 4 if quick else 1
    out = []

    def add(name, n, d, rho, k, family, make_pen, frac, convex, seed, low=1.0, high=3.0,
            density=None, scale_w=1.0):
        n, d = n // q, d // q
        X = _design(n, d, rho, seed, density)
        w = _truth(d, min(k, d // 4), low, high, seed) * scale_w
        y = _response(X, w, family, seed)
        lam = frac * lam_max(X, y, L1(), family) if frac else None
        pen, lam, gamma = make_pen(lam)
        out.append(_problem(f"{name} {n}×{d}", X, y, family, pen, lam, convex, gamma))

    def l1(lam):
        return L1(), lam, None

    def mcp(lam, gamma=3.0):  # the textbook MCP(λ, γ): threshold γλ
        return MCP(gamma, lam), lam, gamma

    def logsum(lam, eps=0.1):
        return LogSum(eps), lam, None

    add("Lasso Toeplitz ρ=0.5", 10000, 500, 0.5, 20, "gaussian", l1, 0.1, True, 0)
    add("Lasso", 500, 5000, 0.0, 20, "gaussian", l1, 0.1, True, 1)
    add("MCP", 2000, 200, 0.0, 10, "gaussian", mcp, 0.1, False, 2)
    add("MCP", 5000, 1000, 0.0, 20, "gaussian", mcp, 0.1, False, 3)
    add("LogSum", 5000, 1000, 0.0, 20, "gaussian", logsum, 0.02, False, 4)
    add("MCP", 500, 2000, 0.0, 20, "gaussian", mcp, 0.1, False, 5)
    add("logistic-ℓ1", 10000, 1000, 0.0, 20, "binomial", l1, 0.1, True, 6, 0.5, 1.5)
    add("poisson-ℓ1", 2000, 200, 0.0, 10, "poisson", l1, 0.1, True, 7, 0.1, 0.3)
    if os.environ.get("SKIP_SPARSE"):
        return out
    add("Lasso sparse 0.1 %", 20000, 50000, 0.0, 50, "gaussian", l1, 0.1, True, 8,
        density=1e-3)
    return out


def objective(p: dict, coef: np.ndarray, intercept: float) -> float:
    theta = np.asarray(p["X"] @ coef)[:, None]  # sparse X too: the loss of θ = Xw + b
    return families.loss(theta, p["y"], np.ones(1), intercept, p["family"]) + p["lam"] * p[
        "penalty"
    ].total(coef)


# ----------------------------------------------------------------------------- solvers
def run_irls(p: dict, tol: float) -> tuple[np.ndarray, float]:
    kw = {} if p["convex"] else dict(init=p["init"], fit_intercept=False)
    r = irls(p["X"], p["y"], p["penalty"], p["lam"], family=p["family"], tol=tol, warn=False,
             linear_solver=p.get("linear_solver", "auto"), **kw)
    return r.coef, r.intercept


def run_cvxpy(p: dict, tol: float) -> tuple[np.ndarray, float]:
    from dualreg.solvers.reference import solve_reference

    opts = dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    r = solve_reference(p["X"], p["y"], p["penalty"], p["lam"], family=p["family"], **opts)
    return r.coef, r.intercept


def run_sklearn(p: dict, tol: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import Lasso, LogisticRegression

    if p["family"] == "gaussian":
        m = Lasso(alpha=p["lam"], tol=tol, max_iter=1_000_000).fit(p["X"], p["y"])
        return m.coef_, float(m.intercept_)
    n = p["X"].shape[0]
    m = LogisticRegression(l1_ratio=1.0, C=1.0 / (n * p["lam"]), solver="saga", tol=tol,
                           max_iter=1_000_000, random_state=0).fit(p["X"], p["y"])
    return m.coef_[0], float(m.intercept_[0])


def run_skglm(p: dict, tol: float) -> tuple[np.ndarray, float]:
    from skglm.datafits import Logistic, Poisson, Quadratic
    from skglm.penalties import L0_5, L1, LogSumPenalty, MCPenalty
    from skglm.solvers import AndersonCD, ProxNewton

    X, y, lam, pen_d = p["X"], p["y"], p["lam"], p["penalty"]
    if isinstance(pen_d, Lp):
        pen = L0_5(2 * lam)  # λ|w|^½/½ = 2λ|w|^½
    elif isinstance(pen_d, MCP):
        # textbook MCP(λ, γ) = λ·MCP(a=γ, scale=λ): skglm's MCPenalty(α=λ, γ)
        pen = MCPenalty(lam, pen_d.a)
    elif isinstance(pen_d, LogSum):
        pen = LogSumPenalty(lam, pen_d.eps)  # λ log(1 + |w|/ε) = λΩ − λ log ε
    else:
        pen = L1(lam)
    fit_b = p["convex"]
    if p["family"] == "gaussian":
        datafit, solver = Quadratic(), AndersonCD(tol=tol, max_iter=10_000, fit_intercept=fit_b)
    else:
        datafit = Logistic() if p["family"] == "binomial" else Poisson()
        solver = ProxNewton(tol=tol, max_iter=1000, fit_intercept=fit_b)
    if p["family"] == "binomial":
        y = 2.0 * y - 1.0  # skglm's Logistic: mean log(1 + e^{−y θ}), y ∈ {−1, 1}
    if fit_b:
        w = solver.solve(X, y, datafit, pen)[0]
        return w[:-1], float(w[-1])
    w0 = p["init"]
    w = solver.solve(X, y, datafit, pen, w_init=w0.copy(), Xw_init=X @ w0)[0]
    return w, 0.0


LADDERS: dict[str, tuple[Callable, list[float]]] = {
    "IRLS": (run_irls, [1e-4, 1e-6, 1e-8, 1e-10]),
    "skglm": (run_skglm, [1e-4, 1e-6, 1e-8, 1e-10]),
    "scikit-learn": (run_sklearn, [1e-4, 1e-6, 1e-8, 1e-10]),
    "cvxpy/Clarabel": (run_cvxpy, [1e-8, 1e-11]),
}
CVXPY_MAX_SIZE = 200_000
"""cvxpy only where n·d is at most this (it takes minutes beyond)."""
SLOW = 20.0
"""A rung slower than this many CPU seconds ends its solver's ladder."""


def applicable(method: str, p: dict) -> bool:
    if method in ("cvxpy/Clarabel", "scikit-learn"):
        if not p["convex"] or (method == "scikit-learn" and p["family"] == "poisson"):
            return False
        if method == "cvxpy/Clarabel":
            return not sparse.issparse(p["X"]) and p["X"].size <= CVXPY_MAX_SIZE
        return True
    if method == "skglm":
        try:
            import skglm  # noqa: F401
        except ImportError:
            return False
    return True


def timed_runs(method: str, p: dict,
               repeats: int) -> list[tuple[float, float, float, float]]:
    """(tol, median CPU time, objective, max/min time over the repeats) for each rung of the
    method's ladder."""
    fn, ladder = LADDERS[method]
    out = []
    for tol in ladder:
        times = []
        for rep in range(repeats):
            start = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                coef, b = fn(p, tol)
            times.append(time.process_time() - start)
            if rep == 0 and times[0] > 2.0:  # long runs: one timing is precise enough
                break
        out.append((tol, float(np.median(times)), objective(p, coef, b),
                    max(times) / min(times)))
        if times[0] > SLOW:
            break
    return out


def peak_memory(p: dict) -> float:
    """The IRLS's peak allocation (tracemalloc, numpy's buffers included) over the bytes of X."""
    X = p["X"]
    size = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) if sparse.issparse(X) else X.nbytes
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_irls(p, 1e-8)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="4× smaller problems")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "solvers.md"))
    parser.add_argument("--linear-solver", default="auto", choices=sorted(LINEAR_SOLVERS),
                        help="the IRLS's weighted-ridge solver (default: auto)")
    parser.add_argument("--only", default="",
                        help="run only the problems whose name contains this text")
    args = parser.parse_args()
    methods = list(LADDERS)
    rows = []
    # Load every library (and its BLAS) before limiting the threads: a BLAS loaded after
    # threadpool_limits is entered keeps its default thread count.
    import scipy.linalg  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    for optional in ("cvxpy", "skglm.solvers", "skglm.datafits", "skglm.penalties"):
        try:
            __import__(optional)
        except ImportError:
            pass
    with threadpool_limits(1):
        probs = [p for p in problems(args.quick) if args.only in p["name"]]
        for p in probs:
            p["linear_solver"] = args.linear_solver
            if not p["convex"]:
                X = p["X"]
                n, d = X.shape
                p["init"] = np.linalg.solve(X.T @ X / n + p["lam"] * np.eye(d), X.T @ p["y"] / n)
            if applicable("skglm", p):  # numba compilation outside the timings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run_skglm(p, 1e-2)
            runs = {m: timed_runs(m, p, args.repeats) for m in methods if applicable(m, p)}
            best = min(f for r in runs.values() for _, _, f, _ in r)
            thresh = best + REL * max(abs(best), 1e-12)
            reach = {}
            spread = []
            for m, r in runs.items():
                ok = [(t, s) for _, t, f, s in r if f <= thresh]
                gap = min(f for _, _, f, _ in r) - best
                reach[m] = (min(ok)[0] if ok else None, gap / max(abs(best), 1e-12))
                spread += [min(ok)[1]] if ok else []
            peak, size = peak_memory(p)
            rows.append((p, reach, peak / size, max(spread)))
            print(f"{p['name']}: " + ", ".join(
                f"{m} {v[0]:.3g}s" if v[0] is not None else f"{m} not reached"
                for m, v in reach.items()) + f"; IRLS peak memory {peak / size:.2f} × X",
                flush=True)

    others = methods[1:]
    head = ("| problem | " + " | ".join(f"{m} (s)" for m in methods) + " | "
            + " | ".join(f"{m} / IRLS" for m in others)
            + " | IRLS peak memory / X | noise (max/min) |")
    lines = [head, "|" + "---|" * (3 + 2 * len(methods) - 1)]
    for p, reach, mem, noise in rows:
        t_irls = reach["IRLS"][0]
        cells, ratios = [], []
        for m in methods:
            if m not in reach:
                cells.append("—")
                continue
            t, gap = reach[m]
            cells.append(f"{t:.3g}" if t is not None else f"not reached (rel gap {gap:.1e})")
        for m in others:
            if m in reach and reach[m][0] is not None and t_irls is not None:
                ratios.append(f"{reach[m][0] / t_irls:.2g}×")
            else:
                ratios.append("—")
        lines.append(f"| {p['name']} | " + " | ".join(cells) + " | " + " | ".join(ratios)
                     + f" | {mem:.2f} | {noise:.2f} |")
    table = "\n".join(lines)
    header = (
        f"# Solver benchmark: CPU time to reach the best objective to rel {REL:g}\n\n"
        f"Generated by `python benchmarks/solvers.py{' --quick' if args.quick else ''}"
        f"{'' if args.linear_solver == 'auto' else ' --linear-solver ' + args.linear_solver}` on "
        f"{platform.machine()} / Python {platform.python_version()}, one BLAS thread, CPU "
        f"seconds (process time: less sensitive to other load than wall time), median of "
        f"{args.repeats} runs per tolerance (one for runs over 2 s). A solver's time is its "
        f"cheapest rung whose F is within {REL:g} (relative) of the best F any run reached. A "
        "ratio `m / IRLS` above 1 means IRLS is that many times faster. \"not reached\": no "
        "rung came that close (for the nonconvex rows: a different, worse local minimum from "
        "the same ridge start). Peak memory: tracemalloc's peak during one IRLS solve over "
        "the bytes of X (its data, indices and pointers when sparse). Noise: the largest "
        "max/min ratio of the repeated timings behind the row's entries (the machine was "
        "shared with other jobs; CPU time keeps it low).\n\n"
    )
    _io.write_text(args.out, header + table + "\n")
    print()
    print(table)


if __name__ == "__main__":
    main()
