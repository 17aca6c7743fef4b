"""bench/propagation_fit.py: the held-out choice never sees the sequence it is scored on, the
cache key follows the engine's code but not its docstrings or default values, and the shipped
defaults are one of the candidates the bench compares — on hand-built score tables."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "propagation_fit", ROOT / "bench" / "propagation_fit.py")
pf = sys.modules["propagation_fit"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pf)


def cell(jf: float) -> dict:
    return {"j": jf, "f": jf, "cpu": 0.0, "frames": 1}


def test_each_sequence_is_scored_by_a_choice_made_without_it():
    # Configuration 1 is far better on "a" alone; on the others 0 is better. Chosen on all
    # three, 1 wins (its mean 0.6 against 0.5), but "a" held out must get 0, and "b" and "c"
    # held out get 1 (which still carries "a" among their training sequences).
    table = {(0, "a"): 0.5, (1, "a"): 0.95, (0, "b"): 0.5, (1, "b"): 0.45,
             (0, "c"): 0.5, (1, "c"): 0.4}
    scores = {k: cell(v) for k, v in table.items()}
    assert pf.best(scores, 2, ["a", "b", "c"]) == 1
    assert pf.held_out(scores, 2, ["a", "b", "c"]) == {"a": 0, "b": 1, "c": 1}


def test_the_cache_key_follows_the_code_not_its_docstrings_or_defaults():
    code = '''def f(x, k=2.0):
    """Doc."""
    return x * k  # note
'''
    same = '''def f(x, k=3.0):
    """Another doc, and the default changed."""
    return x * k
'''
    other = '''def f(x, k=2.0):
    """Doc."""
    return x + k
'''
    assert pf._code(code) == pf._code(same)
    assert pf._code(code) != pf._code(other)
    config = dict(pf.OLD_DEFAULTS)
    assert pf.key("c0de", config, "boat") != pf.key("c0de", dict(config, prior_gain=1.0), "boat")


def test_candidates_are_complete_engine_settings_and_hold_the_shipped_defaults():
    names = set(inspect.signature(pf.FallbackPropagator.__init__).parameters) - {"self"}
    candidates = pf.candidates()
    assert all(set(c) <= names for c in candidates)  # no misspelt knob
    assert pf.OLD_DEFAULTS in candidates
    assert pf.resolved({}) in [pf.resolved(c) for c in candidates]
    assert pf.label(pf.OLD_DEFAULTS) == "2026-11 defaults"
    assert pf.label(dict(pf.OLD_DEFAULTS, prior_scale=0.12)) == "prior_scale=0.12"
