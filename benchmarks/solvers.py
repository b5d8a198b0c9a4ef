"""Time to reach the best objective (to rel 1e-6): IRLS vs cvxpy/Clarabel vs scikit-learn vs skglm.

Every solver minimises the same F = L + λΩ of docs/conventions.md §1 (mean-loss scaling; F is
recomputed in numpy from each solution). Solvers expose no common "stop at objective F*" switch,
so each is run along a ladder of its own tolerances and timed (best of ``--repeats``, one run
when it takes over 2 s); a solver's time is that of the cheapest run whose F is within 1e-6
(relative) of the best F any run reached.
All BLAS libraries are limited to one thread (the same for every solver; numba/skglm is
single-threaded); skglm's numba compilation is done before timing, cvxpy's problem construction
is included (it is part of solving with cvxpy). Nonconvex cases start every solver from the
same ridge solution and have no cvxpy/scikit-learn entry.

Usage: ``python benchmarks/solvers.py [--repeats 3] [--quick] [--linear-solver auto]``
(``--linear-solver``: the IRLS's weighted-ridge solver, ``dualreg.solvers.linear``). Writes
``benchmarks/results/solvers.md`` atomically (temp file + os.replace) and prints the table.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from threadpoolctl import threadpool_limits

from dualreg import _io, families
from dualreg.penalties import L1, MCP, Lp
from dualreg.solvers import LINEAR_SOLVERS, irls, lam_max

REL = 1e-6


# ----------------------------------------------------------------------------- problems
def _sparse_gaussian(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[:k] = rng.choice([-1, 1], k) * rng.uniform(1, 3, k)
    return X, X @ w + 1.0 + rng.standard_normal(n)


def _sparse_logistic(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[:k] = rng.choice([-1, 1], k) * rng.uniform(0.5, 1.5, k)
    return X, (rng.random(n) < 1 / (1 + np.exp(-(X @ w) - 0.3))).astype(float)


def problems(quick: bool) -> list[dict]:
    scale = 4 if quick else 1
    out = []
    X, y = _sparse_gaussian(2000 // scale, 500 // scale, 20, 0)
    out.append(dict(name=f"Lasso {X.shape[0]}×{X.shape[1]}", X=X, y=y, family="gaussian",
                    penalty=L1(), lam=0.05 * lam_max(X, y, L1()), convex=True))
    X, y = _sparse_gaussian(200 // scale, 2000 // scale, 20, 1)
    out.append(dict(name=f"Lasso {X.shape[0]}×{X.shape[1]}", X=X, y=y, family="gaussian",
                    penalty=L1(), lam=0.05 * lam_max(X, y, L1()), convex=True))
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = (Xb - Xb.mean(0)) / Xb.std(0)
    out.append(dict(name="logistic-ℓ1 breast cancer 569×30", X=Xb, y=yb.astype(float),
                    family="binomial", penalty=L1(), lam=0.01, convex=True))
    X, y = _sparse_logistic(5000 // scale, 200 // scale, 20, 2)
    out.append(dict(name=f"logistic-ℓ1 {X.shape[0]}×{X.shape[1]}", X=X, y=y,
                    family="binomial", penalty=L1(),
                    lam=0.05 * lam_max(X, y, L1(), "binomial"), convex=True))
    X, y = _sparse_gaussian(500 // scale, 2000 // scale, 10, 3)
    y = y - y.mean()
    out.append(dict(name=f"ℓ0.5 {X.shape[0]}×{X.shape[1]} (shared ridge init)", X=X, y=y,
                    family="gaussian", penalty=Lp(0.5), lam=0.05, convex=False))
    out.append(dict(name=f"MCP {X.shape[0]}×{X.shape[1]} (shared ridge init)", X=X, y=y,
                    family="gaussian", penalty=MCP(3.0, 0.1), lam=0.1, convex=False))
    return out


def objective(p: dict, coef: np.ndarray, intercept: float) -> float:
    return families.loss(p["X"], p["y"], coef, intercept, p["family"]) + p["lam"] * p[
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
    from skglm.datafits import Logistic, Quadratic
    from skglm.penalties import L0_5, L1, MCPenalty
    from skglm.solvers import AndersonCD

    X, y, lam = p["X"], p["y"], p["lam"]
    if isinstance(p["penalty"], Lp):
        pen, datafit, fit_b = L0_5(2 * lam), Quadratic(), False  # λ|w|^½/½ = 2λ|w|^½
    elif isinstance(p["penalty"], MCP):
        # MCP(a=γ, scale=s) with λ = s is skglm's MCPenalty(α=s, γ)
        pen, datafit, fit_b = MCPenalty(p["penalty"].scale, p["penalty"].a), Quadratic(), False
    else:
        pen, fit_b = L1(lam), True
        datafit = Quadratic() if p["family"] == "gaussian" else Logistic()
    if p["family"] == "binomial":
        y = 2.0 * y - 1.0  # skglm's Logistic: mean log(1 + e^{−y θ}), y ∈ {−1, 1}
    solver = AndersonCD(tol=tol, max_iter=10_000, fit_intercept=fit_b)
    if fit_b:
        w = solver.solve(X, y, datafit, pen)[0]
        return w[:-1], float(w[-1])
    w0 = p["init"]
    w = solver.solve(X, y, datafit, pen, w_init=w0.copy(), Xw_init=X @ w0)[0]
    return w, 0.0


LADDERS: dict[str, tuple[Callable, list[float]]] = {
    "IRLS": (run_irls, [1e-4, 1e-6, 1e-9]),
    "cvxpy/Clarabel": (run_cvxpy, [1e-8, 1e-11]),
    "scikit-learn": (run_sklearn, [1e-4, 1e-6, 1e-8, 1e-10]),
    "skglm": (run_skglm, [1e-4, 1e-6, 1e-8, 1e-10]),
}


def applicable(method: str, p: dict) -> bool:
    if method in ("cvxpy/Clarabel", "scikit-learn"):
        return p["convex"]
    if method == "skglm":
        try:
            import skglm  # noqa: F401
        except ImportError:
            return False
    return True


def timed_runs(method: str, p: dict, repeats: int) -> list[tuple[float, float, float]]:
    """(tol, best time, objective) for each rung of the method's ladder."""
    fn, ladder = LADDERS[method]
    out = []
    for tol in ladder:
        times = []
        for rep in range(repeats):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                coef, b = fn(p, tol)
            times.append(time.perf_counter() - start)
            if rep == 0 and times[0] > 2.0:  # long runs: one timing is precise enough
                break
        out.append((tol, min(times), objective(p, coef, b)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
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
            best = min(f for r in runs.values() for _, _, f in r)
            thresh = best + REL * max(abs(best), 1e-12)
            reach = {}
            for m, r in runs.items():
                ok = [t for _, t, f in r if f <= thresh]
                gap = min(f for _, _, f in r) - best
                reach[m] = (min(ok) if ok else None, gap / max(abs(best), 1e-12))
            rows.append((p, reach))
            print(f"{p['name']}: " + ", ".join(
                f"{m} {v[0]:.3g}s" if v[0] is not None else f"{m} not reached"
                for m, v in reach.items()), flush=True)

    head = "| problem | " + " | ".join(f"{m} (s)" for m in methods) + " | " + " | ".join(
        f"{m} / IRLS" for m in methods[1:]) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(methods) - 1)]
    for p, reach in rows:
        t_irls = reach["IRLS"][0]
        cells, ratios = [], []
        for m in methods:
            if m not in reach:
                cells.append("—")
                continue
            t, gap = reach[m]
            cells.append(f"{t:.3g}" if t is not None else f"not reached (rel gap {gap:.1e})")
        for m in methods[1:]:
            if m in reach and reach[m][0] is not None and t_irls is not None:
                ratios.append(f"{reach[m][0] / t_irls:.2g}×")
            else:
                ratios.append("—")
        lines.append(f"| {p['name']} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    table = "\n".join(lines)
    header = (
        "# Solver benchmark: time to reach the best objective to rel 1e-6\n\n"
        f"Generated by `python benchmarks/solvers.py{' --quick' if args.quick else ''}"
        f"{'' if args.linear_solver == 'auto' else ' --linear-solver ' + args.linear_solver}` on "
        f"{platform.machine()} / Python {platform.python_version()}, one BLAS thread, best of "
        f"{args.repeats} runs per tolerance (one for runs over 2 s). A ratio `m / IRLS` above "
        "1 means IRLS is that many times faster. \"not reached\": no rung of that solver's "
        "tolerance ladder came within 1e-6 of the best objective (for the nonconvex rows: a "
        "different, worse local minimum from the same start).\n\n"
    )
    _io.write_text(args.out, header + table + "\n")
    print()
    print(table)


if __name__ == "__main__":
    main()
