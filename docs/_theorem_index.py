"""Write the site's theorem index from the claim registry (what ``dualreg verify --list`` prints).

Each theorem links to its proof (a page of the site, copied from ``proofs/``) and lists its
claims: the id, what is checked, the module and function that check it, and the command that
runs it alone. Generated at every build, so the index cannot drift from the registry.
"""

from __future__ import annotations

from pathlib import Path


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def write_theorem_index(target: Path) -> None:
    """Write the theorem index page to ``target`` (Markdown for MyST)."""
    from dualreg.verify import CLAIMS, select
    from dualreg.verify.report import theorem_key, theorem_of, theorem_title

    ids = select(None)
    theorems: dict[str, list[str]] = {}
    for cid in ids:
        theorems.setdefault(theorem_of(cid), []).append(cid)
    lines = [
        "# Theorem index",
        "",
        "Every theorem of the proofs, its proof, and the numerical checks that `dualreg verify`",
        f"runs against it: {len(theorems)} theorems, {len(ids)} claims. Generated from the claim",
        "registry when the documentation is built (`dualreg verify --list` prints the same data).",
        "Run one claim alone with `dualreg verify --only ID`.",
        "",
    ]
    for theorem in sorted(theorems, key=theorem_key):
        proof = CLAIMS[theorems[theorem][0]].proof  # e.g. proofs/T1_dropout_ridge.md
        name = Path(proof).name
        title = theorem_title(theorem, proof)
        lines += [f"## {title}", "", f"Proof: [{name}](proofs/{name})", "",
                  "| claim | what is checked | check |", "|---|---|---|"]
        for cid in theorems[theorem]:
            c = CLAIMS[cid]
            where = f"`{c.run.__module__}.{c.run.__name__}`"
            lines.append(f"| `{cid}` | {_cell(c.statement)} | {where} |")
        lines.append("")
    text = "\n".join(lines)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
