"""Evaluation suites from Python, with Python callables as custom metrics."""

import pyarrow as pa
import pytest
from sklearn.metrics import accuracy_score, matthews_corrcoef, roc_auc_score

import mlops


def table():
    return pa.table({
        "y": [0, 0, 1, 1, 1, 0, 1, 0, 1, 1],
        "pred": [0, 1, 1, 1, 0, 0, 1, 0, 1, 0],
        "p1": [0.1, 0.6, 0.8, 0.9, 0.4, 0.2, 0.7, 0.3, 0.95, 0.45],
        "plan": ["a", "a", "b", "b", "b", "a", "b", "a", "b", "a"],
    })


def test_catalogue_values_are_scikit_learns():
    t = table()
    r = mlops.evaluate(t, "y", "pred", score="p1", metrics=["accuracy", "roc_auc", "matthews_corrcoef"])
    y, p, s = t["y"].to_pylist(), t["pred"].to_pylist(), t["p1"].to_pylist()
    assert r["metrics"]["accuracy"] == accuracy_score(y, p)
    assert abs(r["metrics"]["roc_auc"] - roc_auc_score(y, s)) < 1e-15
    assert abs(r["metrics"]["matthews_corrcoef"] - matthews_corrcoef(y, p)) < 1e-15


def test_python_callables_are_metrics_on_slices_and_resamples():
    t = table()
    r = mlops.evaluate(
        t, "y", "pred", score="p1", metrics=["accuracy", "roc_auc"], slices=["plan"],
        custom_metrics={"sk_acc": accuracy_score, "sk_auc": (roc_auc_score, "score")},
        gates=[{"metric": "sk_auc", "threshold": 0.5}],
        bootstrap=200, seed=3,
    )
    m = r["metrics"]
    assert m["sk_acc"] == m["accuracy"]
    assert abs(m["sk_auc"] - m["roc_auc"]) < 1e-15
    for plan in ["a", "b"]:
        assert m[f"slice/plan/{plan}/sk_acc"] == m[f"slice/plan/{plan}/accuracy"]
    lo, hi = r["intervals"]["sk_auc"]
    assert lo <= m["sk_auc"] <= hi
    [gate] = r["gates"]["outcomes"]
    assert gate["rule"]["metric"] == "sk_auc" and gate["observed"] == m["sk_auc"]


def test_a_raising_metric_is_reported_with_why_and_bad_specs_are_errors():
    def broken(y_true, y_pred):
        raise RuntimeError("cannot compute")

    # As for a catalogue metric undefined on the rows: no value, the reason in "errors".
    r = mlops.evaluate(table(), "y", "pred", custom_metrics={"broken_kpi": broken})
    assert "broken_kpi" not in r["metrics"]
    assert "cannot compute" in r["errors"]["broken_kpi"]
    assert r["metrics"]["accuracy"] == 0.7
    with pytest.raises(mlops.ValidationError, match="accuracy"):
        mlops.evaluate(table(), "y", "pred", custom_metrics={"accuracy": accuracy_score})
    with pytest.raises(TypeError, match="callable"):
        mlops.evaluate(table(), "y", "pred", custom_metrics={"x": 3})


def test_results_are_recorded_into_a_run(tmp_path):
    store = mlops.Store(tmp_path / "s")
    with store.start_run(experiment="eval") as run:
        mlops.evaluate(table(), "y", "pred", score="p1", name="offline", run=run,
                       custom_metrics={"sk_acc": accuracy_score})
    got = store.get_run(run.run_id)["metrics"]
    assert got["eval/offline/sk_acc"] == got["eval/offline/accuracy"] == 0.7
