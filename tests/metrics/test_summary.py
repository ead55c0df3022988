"""Summaries over units and over seeds (impkit.metrics.summary)."""
import numpy as np

from impkit.metrics import summarize_over_seeds, summarize_over_units


def test_summaries():
    s = summarize_over_units([1.0, np.nan, 3.0])
    assert s["mean"] == 2.0 and s["median"] == 2.0 and s["n"] == 2 and s["n_nan"] == 1
    v = np.array([[1.0, 2.0], [3.0, np.nan]])
    out = summarize_over_seeds(v)
    np.testing.assert_allclose(out["mean"], [2.0, 2.0])
    np.testing.assert_allclose(out["min"], [1.0, 2.0])
    np.testing.assert_allclose(out["max"], [3.0, 2.0])
