"""Product text in ctxrisk.analytics.graph never uses victim-blaming language."""

import re
from pathlib import Path

import ctxrisk.analytics.graph

BANNED = (
    "child prostitute",
    "prostitut",
    "drug runner",
    "putting themselves at risk",
    "consenting",
    "consensual",
    "promiscuous",
    "streetwise",
)


def test_no_victim_blaming_terms_in_graph_package():
    root = Path(ctxrisk.analytics.graph.__file__).parent
    files = sorted(root.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8").lower()
        for term in BANNED:
            assert not re.search(re.escape(term), text), f"{path.name} uses {term!r}"
