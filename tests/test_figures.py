"""``dualreg figures``: every figure renders in quick mode, the data behind the paper's penalty
figure agrees with values computed independently, the index lists everything, user errors are
one line with exit 2, and the same seed gives the same data files.

The whole quick run happens once per module (a fixture); everything else reads its output.
"""

from __future__ import annotations

import csv
import gzip
import json
import struct

import numpy as np
import pytest

from dualreg.cli import main
from dualreg.plots import FIGURES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """All figures, quick budget, seed 0, into one folder; returns (folder, index)."""
    out = tmp_path_factory.mktemp("figures")
    assert main(["figures", "--quick", "--seed", "0", "--out", str(out), "--no-progress"]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))["figures"]
    return out, index


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _columns(path):
    header, rows = _read_csv(path)
    return {h: np.array([float(r[i]) for r in rows]) for i, h in enumerate(header)}


# --------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_rendered_with_data_and_index_entry(quick_run, name):
    out, index = quick_run
    assert name in index
    entry = index[name]
    assert entry["files"][:2] == [f"{name}.png", f"{name}.pdf"]
    assert len(entry["files"]) >= 3, "no data file beside the figure"
    assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    for fname in entry["files"]:
        assert (out / fname).stat().st_size > 100, fname
    assert entry["claims"] and entry["quick"] is True and entry["seed"] == 0
    assert entry["command"].startswith(f"dualreg figures --only {name} --quick --seed 0")
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"## {name}" in readme and entry["command"] in readme
    assert f"![{name}]({name}.png)" in readme


def test_png_has_a_sensible_size(quick_run):
    out, _ = quick_run
    for name in FIGURES:
        head = (out / f"{name}.png").read_bytes()[:24]
        width, height = struct.unpack(">II", head[16:24])
        assert 600 <= width <= 3000 and 300 <= height <= 3000, (name, width, height)


# --------------------------------------------------------------------------- penalties data
def test_penalties_scalar_panel_matches_closed_forms(quick_run):
    out, _ = quick_run
    cols = _columns(out / "penalties_scalar.csv")
    w = cols["w"]
    np.testing.assert_allclose(w, np.logspace(-2, np.log10(5), 100), rtol=0, atol=0)
    w0 = 0.01
    # Standout: Ω = 1 − (1 + |w|)e^{−|w|}, λ = 1.
    standout = (1 - (1 + w) * np.exp(-w)) - (1 - (1 + w0) * np.exp(-w0))
    np.testing.assert_allclose(cols["Standout"], standout, rtol=1e-12, atol=1e-15)
    # LogSum(ε = 2), λ = 2: 2 log((|w| + 2)/(0.01 + 2)).
    np.testing.assert_allclose(cols["LogSum(ε=2), λ=2"], 2 * np.log((w + 2) / (w0 + 2)),
                               rtol=1e-12, atol=1e-15)
    # MCP(a = ½, scale = √2): b = √2/2, Ω = |w| − w²/(2b) below b, b/2 beyond; λ = √2.
    b = np.sqrt(2) / 2

    def mcp(t):
        return np.where(t <= b, t - t * t / (2 * b), b / 2)

    np.testing.assert_allclose(cols["MCP(a=½, scale=√2), λ=√2"], np.sqrt(2) * (mcp(w) - mcp(w0)),
                               rtol=1e-12, atol=1e-15)


def test_penalties_dual_defined_columns_match_the_eta_form(quick_run):
    """VarDrop and hard concrete are defined by their duals: recompute Ω(w) = ½ min_η[w²/η +
    f(η)] by a 1-D search (dualreg.duality.value_from_dual), a route independent of the
    objects' own inversion tables; agreement to the search's accuracy."""
    from dualreg.duality import value_from_dual
    from dualreg.penalties import HardConcrete, VarDrop

    out, _ = quick_run
    cols = _columns(out / "penalties_scalar.csv")
    w = cols["w"]
    for label, pen in (("VarDrop", VarDrop()), ("HardConcrete", HardConcrete())):
        direct = value_from_dual(pen.dual, np.r_[w, 0.01])
        expected = direct[:-1] - direct[-1]
        np.testing.assert_allclose(cols[label], expected, rtol=1e-6, atol=1e-8, err_msg=label)
    # Hard concrete saturates at ½ beyond its saturation point.
    hc = HardConcrete()
    far = w > hc.saturation
    assert far.any()
    np.testing.assert_allclose(cols["HardConcrete"][far], 0.5 - hc.value(0.01), rtol=1e-12)


def test_penalties_vector_panel(quick_run):
    out, _ = quick_run
    cols = _columns(out / "penalties_vector.csv")
    k = cols["k"].astype(int)
    assert list(k) == list(range(33))
    # Independent LogSum(ε = 2), λ = 2: k entries 1/√(k + 1e-3), 32 − k zeros.
    a = 1 / np.sqrt(k + 1e-3)
    total = 2 * (k * np.log(a + 2) + (32 - k) * np.log(2.0))
    np.testing.assert_allclose(cols["LogSum(ε=2), λ=2"], total - total.min(), rtol=1e-12,
                               atol=1e-12)
    standout = k * (1 - (1 + a) * np.exp(-a))
    np.testing.assert_allclose(cols["Standout"], standout - standout.min(), rtol=1e-12,
                               atol=1e-14)
    hard = cols["HardThreshold(16)"]
    assert np.all(hard[:17] == 0) and np.all(np.isinf(hard[17:]))
    for label in ("VarDrop", "Standout", "HardConcrete", "LogSum(ε=2), λ=2"):
        assert cols[label][0] == 0.0  # the zero vector is the least penalty


# --------------------------------------------------------------------------- other data
def test_case_study_table_has_one_row_per_method(quick_run):
    from dualreg.plots.case_study import METHODS

    out, _ = quick_run
    from dualreg.plots._case_study_report import PAPER
    from dualreg.plots.case_study import QUICK_SEEDS

    header, rows = _read_csv(out / "case-study_table.csv")
    assert header[:3] == ["method", "test_error", "test_error_ci"]
    assert [r[0] for r in rows] == list(METHODS) and len(METHODS) == 7
    cols = {h: np.array([float(r[i]) for r in rows]) for i, h in enumerate(header) if i}
    for key in ("test_error", "fraction_nonzero", "numerically_zero"):
        assert np.all((cols[key] >= 0) & (cols[key] <= 1)), key
        assert np.all(cols[f"{key}_ci"] >= 0), key
    assert np.all(cols["seeds"] == QUICK_SEEDS)
    assert list(cols["paper_test_error"]) == [PAPER[m][0] for m in METHODS]
    md = (out / "case-study_table.md").read_text(encoding="utf-8")
    body = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(body) == 1 + len(METHODS) and "paper test error" in body[0]
    # the table is the seed mean of the per-seed runs
    _, runs = _read_csv(out / "case-study_runs.csv")
    te = {m: [float(r[2]) for r in runs if r[0] == m] for m in METHODS}
    assert all(len(v) == QUICK_SEEDS for v in te.values())
    assert np.allclose(cols["test_error"], [np.mean(te[m]) for m in METHODS], rtol=1e-12)
    hist_header, hist = _read_csv(out / "case-study_history.csv")
    assert hist_header[:5] == ["method", "seed", "epoch", "fraction_nonzero", "val_error"]
    assert {r[0] for r in hist} == set(METHODS)


def test_duality_references_are_stationary_and_errors_shrink(quick_run):
    out, _ = quick_run
    data = json.loads((out / "duality.json").read_text(encoding="utf-8"))
    for key in ("bernoulli", "sparseout"):
        m = data["methods"][key]
        rms = np.array(m["rms_error"])
        assert rms[-1] < rms[0], (key, rms)  # averaging over more steps gets closer
        assert -1.5 < m["fitted_slope"] < -0.1, (key, m["fitted_slope"])


def test_monotone_map_classes_follow_monotonicity(quick_run):
    """T6/T8 on the figure's own certificates: increasing keep probability → subquadratic,
    decreasing → superquadratic, constant → quadratic, non-monotone → indefinite."""
    out, _ = quick_run
    records = json.loads((out / "monotone-map.json").read_text(encoding="utf-8"))["records"]
    expected = {"increasing": "subquadratic", "decreasing": "superquadratic",
                "constant": "quadratic", "non-monotone": "indefinite"}
    seen = set()
    for r in records:
        assert r["class"] == expected[r["monotonicity"]], r
        seen.add(r["class"])
    assert seen == set(expected.values())


def test_paths_start_empty_and_grow(quick_run):
    out, _ = quick_run
    paths = json.loads((out / "paths.json").read_text(encoding="utf-8"))["paths"]
    assert len(paths) == 5
    lasso = paths["ℓ1 (lasso)"]
    assert lasso["nonzero"][0] == 0 and lasso["nonzero"][-1] == 10


def test_pruning_identity_data_obeys_t12(quick_run):
    """proofs/T12 on the figure's data: measured ΔL = 2P_T + R, inside the κ bounds, at
    rank-consistent fixed points; r·ΔL near its limit at r = 999; listed after
    targeted-pruning."""
    out, _ = quick_run
    data = json.loads((out / "pruning-identity.json").read_text(encoding="utf-8"))
    for model, tol in (("gaussian", 1e-10), ("logistic", 1e-8)):
        p = {k: np.asarray(v, float) for k, v in data[model].items()
             if k not in ("full_fit_loss",)}
        np.testing.assert_allclose(p["measured"], p["predicted"], rtol=tol, err_msg=model)
        np.testing.assert_allclose(p["first_order"], 2 * p["penalty"], rtol=0)
        assert np.all(p["lower"] <= p["measured"] * (1 + 1e-9)), model
        assert np.all(p["measured"] <= p["upper"] * (1 + 1e-9)), model
        assert np.all(p["rank_consistent"] == 1) and np.all(p["stationarity"] < 1e-12), model
        assert list(p["pruned"]) == [int(np.floor(g * 40 + 1e-12)) for g in p["gamma"]]
    rate = data["rate"]
    assert abs(rate["r_measured"][-1] / rate["limit"] - 1) < 1e-2
    assert np.all(np.diff(rate["r_measured"]) > 0)  # r·ΔL rises to its limit
    assert np.all(np.asarray(rate["r_a_priori"]) >= np.asarray(rate["r_measured"]))
    names = list(FIGURES)
    assert names.index("pruning-identity") == names.index("targeted-pruning") + 1


# --------------------------------------------------------------------------- reproducibility
def test_same_seed_gives_identical_data_files(quick_run):
    """Re-make the torch-trained figures with the same seed into the same folder: byte-identical
    data files, and the index still lists every figure."""
    out, index = quick_run
    names = ["case-study", "duality"]
    before = {f: (out / f).read_bytes() for n in names for f in index[n]["files"][2:]}
    assert main(["figures", "--quick", "--seed", "0", "--out", str(out), "--no-progress",
                 "--only", *names]) == 0
    for fname, content in before.items():
        assert (out / fname).read_bytes() == content, fname
    again = json.loads((out / "index.json").read_text(encoding="utf-8"))["figures"]
    assert list(again) == list(FIGURES)


# --------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["figures", "--only", "nope"], "unknown figure 'nope'"),
        (["figures", "--only", "penalties", "bogus"], "unknown figure 'bogus'"),
        (["figures", "--device", "tpu"], "invalid choice"),
        (["figures", "--seed", "x"], "invalid int value"),
        (["figures", "--quick", "--paper-budget"], "exclude each other"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, fragment, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("dualreg: error:"), err
    assert fragment in err
    assert not (tmp_path / "f").exists()


def test_case_study_budgets():
    from dualreg.plots.case_study import budget

    # shipped images: 10,000 steps with lr x 7.5; the paper's 75,000 steps at lr x 1 with
    # --paper-budget (3,200 images = 25 steps an epoch); full MNIST: 200 epochs unscaled
    assert budget(3200, full_mnist=False, quick=False) == (400, 7.5)
    assert budget(3200, full_mnist=False, quick=False, paper=True) == (3000, 1.0)
    assert budget(48000, full_mnist=True, quick=False, paper=True) == (200, 1.0)
    assert budget(3200, full_mnist=False, quick=True, paper=True) == (3, 1.0)


def test_paper_budget_is_recorded_only_where_a_figure_has_one(tmp_path, monkeypatch):
    import dualreg.plots as plots

    commands = {}

    def fake_run(names, ctx, command, stream=None):
        assert ctx.paper_budget
        commands.update({n: command(n) for n in names})
        return {}

    monkeypatch.setattr(plots, "run", fake_run)
    assert main(["figures", "--only", "case-study", "penalties", "--paper-budget",
                 "--no-progress", "--out", str(tmp_path)]) == 0
    assert "--paper-budget" in commands["case-study"]
    assert "--paper-budget" not in commands["penalties"]


def test_missing_mnist_files_are_a_user_error(capsys, tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")
    assert main(["figures", "--only", "case-study", "--mnist", str(tmp_path),
                 "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "t10k-images-idx3-ubyte" in err and "train-labels-idx1-ubyte" in err
    assert main(["figures", "--mnist", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_list(capsys):
    assert main(["figures", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FIGURES)


def test_cuda_request_without_cuda_is_a_user_error(capsys, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["figures", "--device", "cuda", "--out", str(tmp_path)]) == 2
    assert "no CUDA device" in capsys.readouterr().err


# --------------------------------------------------------------------------- pieces
def _write_idx(path, array, code=0x08, compress=False):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    payload = header + array.astype(">u1").tobytes()
    if compress:
        payload = gzip.compress(payload)
    path.write_bytes(payload)


def test_idx_reader_and_mnist_loader(tmp_path):
    from dualreg.plots import _mlp

    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    labels = np.tile(np.arange(10, dtype=np.uint8), 6)
    test = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", train, compress=True)
    _write_idx(tmp_path / "train-labels.idx1-ubyte", labels)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", test)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:20])
    np.testing.assert_array_equal(_mlp.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), train)
    split = _mlp.mnist(tmp_path, np.random.default_rng(1))
    assert split.X_train.shape[1] == 784 and split.n_classes == 10
    assert len(split.y_train) + len(split.y_val) == 60 and len(split.y_test) == 20
    np.testing.assert_allclose(split.X_test[0], (test[0].ravel() / 255 - 0.1307) / 0.3081,
                               rtol=1e-6)
    # Every class keeps 20 % of its images for validation.
    assert np.all(np.bincount(split.y_val, minlength=10) == 1)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x01\x02")
    with pytest.raises(ValueError, match="header says"):
        _mlp.read_idx(bad)
    bad.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        _mlp.read_idx(bad)


def test_logsum_dual_in_torch_equals_the_library():
    torch = pytest.importorskip("torch")
    from dualreg.penalties import LogSum
    from dualreg.plots.case_study import EPS, logsum_dual

    eta = np.geomspace(1e-6, 1e4, 50)
    got = logsum_dual(torch.as_tensor(eta, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, LogSum(EPS).dual(eta), rtol=1e-10, atol=1e-14)


def test_rescaled_penalty_faces_are_consistent():
    """Rescaled (the paths figure's penalty): Ω_s(w) = Ω(w/s), η̂_s = |w|/Ω_s', and
    Ω_s = ½ min_η[w²/η + f_s(η)]."""
    from dualreg.duality import value_from_dual
    from dualreg.penalties import LogSum, Rescaled, VarDrop

    w = np.array([0.003, 0.05, 0.4, 2.0, 9.0])
    for base in (LogSum(0.5), VarDrop()):
        pen = Rescaled(base, 0.3)
        np.testing.assert_allclose(pen.value(w), base.value(w / 0.3), rtol=1e-14)
        slope = (pen.value(w * (1 + 1e-6)) - pen.value(w * (1 - 1e-6))) / (2e-6 * w)
        np.testing.assert_allclose(pen.eta_hat(w), w / slope, rtol=1e-6)
        np.testing.assert_allclose(value_from_dual(pen.dual, w), pen.value(w), rtol=1e-6)
