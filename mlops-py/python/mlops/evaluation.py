"""Evaluation suites from Python: the metric catalogue (scikit-learn's values), slices,
gates with bootstrap intervals, and your own metrics as plain Python callables.

    import mlops
    from sklearn.metrics import matthews_corrcoef, roc_auc_score

    result = mlops.evaluate(
        table, label="y", prediction="pred", score="p1",
        slices=["plan"],
        custom_metrics={
            "sk_mcc": matthews_corrcoef,              # f(y_true, y_pred)
            "sk_auc": (roc_auc_score, "score"),       # f(y_true, y_score)
        },
        gates=[{"metric": "sk_auc", "threshold": 0.8}],
        bootstrap=999,                                # gates judge the 95% bound
    )
    result["metrics"]["slice/plan/basic/sk_mcc"], result["gates"]["passed"]

A custom metric is computed on the whole table, every slice and every bootstrap resample,
like the built-in ones. With ``run=`` every value is recorded into that run
(``eval/<name>/<key>``).
"""

import json

from . import _mlops


def evaluate(table, label, prediction, *, score=None, task="binary", metrics=None,
             slices=None, custom_metrics=None, gates=None, bootstrap=0, seed=0,
             name="default", run=None):
    """Runs an evaluation suite on ``table`` (pyarrow, pandas, polars) and returns its result
    as a dict: ``metrics``, ``errors`` (metrics undefined on these rows, with why),
    ``intervals``, ``slices`` and ``gates``. ``task`` is ``binary``, ``multiclass`` or
    ``regression``; ``metrics`` picks catalogue names (default: all the inputs allow);
    ``slices`` are column names; ``gates`` are ``{"metric", "threshold", "direction":
    "greater" | "less"}``; ``bootstrap`` is the number of resamples (0: point estimates)."""
    return json.loads(_mlops.evaluate(
        table, label, prediction, score=score, task=task, metrics=metrics, slices=slices,
        custom_metrics=custom_metrics, gates=gates, bootstrap=bootstrap, seed=seed,
        name=name, run=run,
    ))
