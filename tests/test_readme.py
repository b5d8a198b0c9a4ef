"""The README's catalogue table is the one the code generates; the formulas in it hold."""

from pathlib import Path

import numpy as np

from dualreg.penalties import CATALOGUE
from dualreg.penalties.catalogue import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_is_generated_from_catalogue():
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- catalogue:start -->")[1].split("<!-- catalogue:end -->")[0]
    assert block.strip() == markdown_table().strip()


def test_readme_gives_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make verify" in text and "make test" in text


def test_catalogue_formulas_hold_for_closed_forms():
    # The table's closed forms, evaluated by hand, against the objects (rel 1e-12: float64).
    w = np.array([0.2, 1.3, 4.0])
    expected = {
        "Ridge": (w**2 / 2, np.ones_like(w)),
        "L1": (np.abs(w), np.abs(w)),
        "Lp": (np.abs(w) ** 0.5 / 0.5, np.abs(w) ** 1.5),
        "LogSum": (np.log(w + 1.0), w * (w + 1.0)),
        "Log2Sum": (np.log(w**2 + 1.0), (w**2 + 1.0) / 2),
        "Standout": (1 - (1 + w) * np.exp(-w), np.exp(w)),
        "CappedL2": (np.minimum(w**2, 1.0) / 2, np.where(w < 1, 1.0, np.inf)),
    }
    for name, (omega, eta) in expected.items():
        p = CATALOGUE[name].build()
        np.testing.assert_allclose(p.value(w), omega, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(p.eta_hat(w), eta, rtol=1e-12, err_msg=name)


def test_readme_python_quick_start_runs():
    # Every ```python block of the README is executed as written.
    text = README.read_text(encoding="utf-8")
    blocks = [b.split("```")[0] for b in text.split("```python")[1:]]
    assert blocks, "the README has no Python quick start"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def _parsed_tables(text):
    """Every table as a list of rows of cell texts, as a CommonMark + tables parser reads it."""
    from markdown_it import MarkdownIt

    tables, cell_open = [], False
    for tok in MarkdownIt("commonmark").enable("table").parse(text):
        if tok.type == "table_open":
            tables.append([])
        elif tok.type == "tr_open":
            tables[-1].append([])
        elif tok.type in ("th_open", "td_open"):
            tables[-1][-1].append("")
            cell_open = True
        elif tok.type in ("th_close", "td_close"):
            cell_open = False
        elif tok.type == "inline" and cell_open:
            tables[-1][-1][-1] = tok.content
    return tables


def test_readme_tables_parse_into_their_cells():
    # GitHub renders with a CommonMark + tables parser: an unescaped | inside a cell (as in
    # |w|) splits it, and the parser drops the cells beyond the header's count — so the row
    # keeps its width but its cells are wrong (['L1', '', 'w', '', '']).
    tables = _parsed_tables(README.read_text(encoding="utf-8"))
    assert tables, "no table parsed"
    for table in tables:
        for row in table:
            assert len(row) == len(table[0]) and all(c.strip() for c in row), row
    catalogue = next(t for t in tables if t[0][0] == "name" and len(t) > 10)
    expected = [[f"`{name}`", e.omega, e.eta_hat, e.curvature, e.origin]
                for name, e in CATALOGUE.items()]
    assert [[c.replace("\\|", "|") for c in row] for row in catalogue[1:]] == expected


def test_catalogue_formulas_in_constructor_parameter_names():
    # The table writes its formulas in the constructors' own parameter names (scale, rate,
    # drop, p_low, tau, ...): evaluated by hand at non-default values, against the objects.
    from dualreg.penalties import MCP, SCAD, Sparseout, TargetedDropout, YDrop

    w = np.array([0.2, 0.9, 1.3, 4.0])
    a, scale = 2.0, 0.7
    b = a * scale  # MCP: b = a·scale
    np.testing.assert_allclose(MCP(a=a, scale=scale).value(w),
                               np.where(w <= b, w - w**2 / (2 * b), b / 2), rtol=1e-12)
    np.testing.assert_allclose(MCP(a=a, scale=scale).eta_hat(w[w < b]),
                               b * w[w < b] / (b - w[w < b]), rtol=1e-12)
    a, scale = 3.0, 0.5  # SCAD: |w| up to scale, scale·(a+1)/2 beyond a·scale
    p = SCAD(a=a, scale=scale)
    np.testing.assert_allclose(p.value(np.array([0.3, 2.0])), [0.3, scale * (a + 1) / 2])
    mid = np.array([0.9, 1.3])
    np.testing.assert_allclose(p.eta_hat(mid), scale * (a - 1) * mid / (a * scale - mid))
    rate, tau = 0.3, 0.6
    np.testing.assert_allclose(TargetedDropout(rate=rate, tau=tau).value(w),
                               rate / (1 - rate) * np.minimum(w**2, tau**2) / 2, rtol=1e-12)
    q, drop = 1.5, 0.2
    v = drop / (1 - drop)
    np.testing.assert_allclose(Sparseout(q=q, drop=drop, grad="stop").value(w),
                               v / q * w**q, rtol=1e-12)
    np.testing.assert_allclose(Sparseout(q=q, drop=drop, grad="autograd").value(w),
                               v / 2 * w**q, rtol=1e-12)
    p_low, p_high, tau = 0.1, 0.5, 1.0
    r_low, r_high = p_low / (1 - p_low), p_high / (1 - p_high)
    np.testing.assert_allclose(YDrop(p_low=p_low, p_high=p_high, tau=tau).value(w),
                               r_low * w**2 / 2 + (r_high - r_low) * np.maximum(w**2 - tau**2, 0)
                               / 2, rtol=1e-12)
