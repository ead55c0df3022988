"""Attribution: the s/2 output-layer pruning rate is Frankle & Carbin's (2019) convention, not open_lth's.

open_lth (Frankle's later library) prunes all layers globally; halving the rate of the output layer is the
convention of the Lottery Ticket Hypothesis paper. No docstring, notebook or book page may credit it to open_lth.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "impkit").rglob("*.py")), *sorted((ROOT / "notebooks").glob("*.py")),
           *sorted((ROOT / "book").glob("*.md")), ROOT / "README.md"]


def _windows(text: str, word: str, width: int = 160):
    for m in re.finditer(re.escape(word), text, flags=re.IGNORECASE):
        yield text[max(0, m.start() - width):m.end() + width]


def test_output_rate_convention_not_credited_to_open_lth():
    bad = []
    for path in SOURCES:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for w in _windows(text, "open_lth"):
            flat = " ".join(w.split())
            # "open_lth convention" / "open_lth's convention" / "s/2 ... open_lth" without naming Frankle & Carbin
            if re.search(r"open_lth('s)? convention|convention of open_lth", flat, re.IGNORECASE) or (
                    ("s/2" in flat or "output" in flat) and "convention" in flat
                    and not re.search(r"frankle", flat, re.IGNORECASE)):
                bad.append(f"{path.relative_to(ROOT)}: ...{flat}...")
    assert not bad, "s/2 output rate credited to open_lth:\n" + "\n".join(bad)


def test_output_rate_convention_cites_frankle_carbin():
    from impkit.config import PruneConfig

    assert "Frankle & Carbin 2019" in PruneConfig.__doc__
    methods = (ROOT / "book" / "methods.md").read_text(encoding="utf-8")
    counts = methods[methods.index("**Counts.**"):]
    counts = counts[:counts.index("\n- **")]
    assert "{cite:t}`frankle2019lottery`" in counts or "{cite:p}`frankle2019lottery`" in counts
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entry = bib[bib.index("frankle2019lottery"):]
    entry = entry[:entry.index("\n}")]
    assert "Lottery Ticket Hypothesis" in entry and "2019" in entry and "Frankle" in entry
