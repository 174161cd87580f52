#!/usr/bin/env python3
"""The Python SDK's overhead and throughput, side by side with the libraries it replaces.

1. `run.log_metric` from Python: microseconds per call (enqueue; the final flush is timed
   separately), against a Python function call that does nothing.
2. W-METRICS from Python (`preds_bin.parquet` of ../shared/BENCHMARKS.md): accuracy,
   precision, recall, F1, ROC AUC and log loss with `mlops.metrics` and with
   `sklearn.metrics`, on the same NumPy arrays; ratio and largest difference.
3. W-DRIFT-style statistics from Python: `mlops.drift.ks_2samp` and `wasserstein_distance`
   against `scipy.stats` on two seeded normal samples.

Run it in a venv with the extension built in release mode, scikit-learn 1.9.1, scipy 1.17.1,
numpy 2.4.6 and pyarrow:

    VIRTUAL_ENV=$PWD/.venv .venv/bin/maturin develop --release -m mlops-py/Cargo.toml
    .venv/bin/python benches/w_py.py --input bench-data/preds_bin.parquet
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pyarrow.parquet as pq

import mlops
import mlops.drift
import mlops.metrics


def timed(f, reps):
    out, times = None, []
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times), min(times)


def log_metric_overhead(calls):
    with tempfile.TemporaryDirectory() as d:
        store = mlops.Store(d)
        with store.start_run(experiment="bench") as run:
            t = time.perf_counter()
            for i in range(calls):
                run.log_metric("loss", 1.0 / (i + 1), step=i)
            enqueue = time.perf_counter() - t
            t = time.perf_counter()
            run.flush() if hasattr(run, "flush") else store.flush()
            flush = time.perf_counter() - t

    def nothing(key, value, step=0):
        return None

    t = time.perf_counter()
    for i in range(calls):
        nothing("loss", 1.0 / (i + 1), step=i)
    baseline = time.perf_counter() - t
    return {"calls": calls, "us_per_call": 1e6 * enqueue / calls, "flush_s": flush,
            "python_noop_us_per_call": 1e6 * baseline / calls}


def metrics_side_by_side(path, reps):
    import sklearn.metrics as skm

    t = pq.read_table(path)
    y = t.column("label").to_numpy().astype(np.int64)
    s = t.column("score").to_numpy()
    pred = (s >= 0.5).astype(np.int64)
    calls = {
        "accuracy": (lambda m: m.accuracy_score(y, pred)),
        "precision": (lambda m: m.precision_score(y, pred, zero_division=0)),
        "recall": (lambda m: m.recall_score(y, pred, zero_division=0)),
        "f1": (lambda m: m.f1_score(y, pred, zero_division=0)),
        "roc_auc": (lambda m: m.roc_auc_score(y, s)),
        "log_loss": (lambda m: m.log_loss(y, s)),
    }
    rows = {}
    for name, call in calls.items():
        ours, om, _ = timed(lambda: call(mlops.metrics), reps)
        ref, sm, _ = timed(lambda: call(skm), reps)
        rows[name] = {"mlops_s": om, "sklearn_s": sm, "speedup": sm / om, "abs_diff": abs(ours - ref)}
    total_o = sum(r["mlops_s"] for r in rows.values())
    total_s = sum(r["sklearn_s"] for r in rows.values())
    return {"rows": len(y), "metrics": rows, "total_mlops_s": total_o, "total_sklearn_s": total_s,
            "speedup": total_s / total_o}


def drift_side_by_side(n, reps):
    import scipy.stats as ss

    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, n), rng.normal(0.01, 1, n)
    rows = {}
    for name, ours_f, ref_f in [
        ("ks_2samp", lambda: mlops.drift.ks_2samp(a, b), lambda: ss.ks_2samp(a, b)),
        ("wasserstein_distance", lambda: mlops.drift.wasserstein_distance(a, b),
         lambda: ss.wasserstein_distance(a, b)),
    ]:
        ours, om, _ = timed(ours_f, reps)
        ref, sm, _ = timed(ref_f, reps)
        o = ours[0] if isinstance(ours, tuple) else ours
        r = ref[0] if isinstance(ref, tuple) else ref
        rows[name] = {"mlops_s": om, "scipy_s": sm, "speedup": sm / om, "abs_diff": abs(o - r),
                      "values_per_s": 2 * n / om}
    return {"rows_per_sample": n, "stats": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", default="bench-data/preds_bin.parquet")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--drift-rows", type=int, default=1_000_000)
    a = ap.parse_args()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out = {"workload": "W-PY", "nproc": os.cpu_count(), "uptime": uptime,
           "log_metric": log_metric_overhead(a.calls),
           "metrics": metrics_side_by_side(a.input, a.reps),
           "drift": drift_side_by_side(a.drift_rows, a.reps)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
