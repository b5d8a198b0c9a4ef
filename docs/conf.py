"""Sphinx configuration of the dualreg documentation (``make docs``).

Sphinx + numpydoc, like numpy, scipy, scikit-learn and skglm: the docstrings are numpydoc with
``:math:``, so the API reference is generated from them (autosummary); sphinx-gallery runs every
example of ``examples/`` at build time; MyST reads the Markdown pages (the conventions, the
proofs). Two pages are generated here before the build, never edited by hand: ``proofs/`` (a
copy of the repository's proofs) and ``theorems.md`` (the theorem index, from the claim
registry that ``dualreg verify --list`` prints).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document this checkout, not another installed dualreg
sys.path.insert(0, str(HERE))

from _theorem_index import write_theorem_index  # noqa: E402

import dualreg  # noqa: E402

project = "dualreg"
author = "the dualreg authors"
copyright = "the dualreg authors (BSD-3-Clause)"
release = version = dualreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**/README.md", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json"]
root_doc = "index"
templates_path = ["_templates"]  # a class page documents the members it defines, no more

autosummary_generate = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the numpydoc Parameters section is the reference
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = f"dualreg {version}"
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}
html_static_path: list[str] = []


def _copy_proofs(_app) -> None:
    """The proofs as pages of the site (docs/proofs/ is a generated copy, git-ignored); their
    README becomes the section's index, with the theorem files as its (hidden) toctree."""
    target = HERE / "proofs"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    files = sorted((ROOT / "proofs").glob("T*.md"), key=lambda p: int(p.name[1:].split("_")[0]))
    for path in files:
        shutil.copyfile(path, target / path.name)
    index = (ROOT / "proofs" / "README.md").read_text(encoding="utf-8")
    toctree = "\n".join(["", "```{toctree}", ":hidden:", "", *(p.stem for p in files), "```", ""])
    (target / "index.md").write_text(index + toctree, encoding="utf-8")


_CODE = re.compile(r"(``.*?``|`[^`]*`)")  # literals and roles (:math:`|w|`) stay as they are


def _escape_bars(_app, _what, _name, _obj, _options, lines: list[str]) -> None:
    """Docstrings write magnitudes as plain ``|w|``, which reStructuredText reads as a
    substitution: escape the bars outside literals, roles and ``.. math::`` blocks."""
    in_math, math_indent = False, 0
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if in_math and stripped and indent <= math_indent:
            in_math = False
        if stripped.startswith(".. math::"):
            in_math, math_indent = True, indent
            if stripped[len(".. math::"):].strip():  # one-line math directive
                continue
        if in_math or "|" not in line:
            continue
        parts = _CODE.split(line)
        lines[i] = "".join(part if j % 2 else part.replace("|", "\\|")
                           for j, part in enumerate(parts))


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _escape_bars)
    app.connect("builder-inited", _copy_proofs)
    app.connect("builder-inited", lambda _app: write_theorem_index(HERE / "theorems.md"))
