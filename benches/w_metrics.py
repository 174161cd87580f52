#!/usr/bin/env python3
"""W-METRICS side by side: our runner (benches/w_metrics.rs) against scikit-learn
(../shared/bench/peers/peer_metrics.py --impl sklearn), interleaved in one run, printing
the speed ratios and the agreement (every float within 1e-12 relative or absolute,
confusion matrices exactly).

    python3 benches/w_metrics.py --input bench-data/preds_bin.parquet
    python3 benches/w_metrics.py --input bench-data/preds_mc10.parquet --reps 3
    python3 benches/w_metrics.py --input ... --binary /path/to/w_metrics   # skip cargo build

Inputs come from ../shared/bench/gen.py (see ../shared/BENCHMARKS.md, "W-METRICS").
scikit-learn comes from the peer venv (~/.cache/peers-venv); --peer-python points elsewhere.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "peers"))


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def run_ours(binary, path):
    r = subprocess.run([binary, "--input", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"w_metrics failed:\n{r.stderr[-3000:]}")
    return last_json(r.stdout)


def run_sklearn(py, path):
    r = subprocess.run([py, os.path.join(PEERS, "peer_metrics.py"), "--input", path, "--impl", "sklearn"],
                       capture_output=True, text=True, cwd=PEERS)
    if r.returncode != 0:
        raise RuntimeError(f"sklearn peer failed:\n{r.stderr[-3000:]}")
    return last_json(r.stdout)


def agreement(ours, ref):
    diffs = {}
    ok = True
    for k, v in ref["metrics"].items():
        o = ours["metrics"].get(k)
        if o is None:
            diffs[k] = None
            ok = False
            continue
        a = abs(o - v)
        rel = a / max(abs(v), 1e-300)
        diffs[k] = {"ours": o, "sklearn": v, "abs": a, "rel": rel}
        ok = ok and (a <= 1e-12 or rel <= 1e-12)
    cm_equal = ours["confusion_matrix"] == ref["confusion_matrix"]
    return ok and cm_equal, cm_equal, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--binary", help="a built w_metrics binary (default: cargo build --release)")
    ap.add_argument("--peer-python", default=os.path.join(
        os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/peers-venv")), "bin", "python"))
    a = ap.parse_args()
    path = os.path.abspath(a.input)
    binary = a.binary
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "mlops-benches", "--bin", "w_metrics"],
                       cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "w_metrics")

    env_info = {"nproc": os.cpu_count(),
                "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    print(json.dumps({"workload": "W-METRICS", "machine": env_info}), flush=True)
    res = {"mlops": [], "sklearn": []}
    for rep in range(a.reps + 1):  # rep 0 is the untimed warm-up
        timed = rep > 0
        for name, fn in (("mlops", lambda: run_ours(binary, path)), ("sklearn", lambda: run_sklearn(a.peer_python, path))):
            r = fn()
            if timed:
                res[name].append(r)
            print(json.dumps({"rep": rep, "timed": timed, **{k: v for k, v in r.items() if k != "confusion_matrix"}}),
                  flush=True)

    agree = [agreement(o, s) for o, s in zip(res["mlops"], res["sklearn"])]
    all_ok = all(x[0] for x in agree)
    med = {n: {k: statistics.median(r["time_s"][k] for r in runs) for k in ("read", "metrics", "total")}
           for n, runs in res.items()}
    rss = {n: max(r["peak_rss_mb"] for r in runs) for n, runs in res.items()}
    ref = res["sklearn"][-1]
    print()
    print(f"W-METRICS  {ref['kind']}  rows={ref['rows']}  reps={a.reps}  nproc={env_info['nproc']}  {env_info['uptime']}")
    print(f"{'time (median s)':<18}{'mlops':>12}{'sklearn':>12}{'speedup':>10}")
    for k in ("read", "metrics", "total"):
        print(f"{k:<18}{med['mlops'][k]:>12.4f}{med['sklearn'][k]:>12.4f}{med['sklearn'][k] / med['mlops'][k]:>9.1f}x")
    print(f"{'peak_rss_mb':<18}{rss['mlops']:>12.1f}{rss['sklearn']:>12.1f}")
    _, cm_equal, diffs = agree[-1]
    print(f"{'metric':<20}{'mlops':>24}{'sklearn':>24}{'abs diff':>12}")
    for k, d in diffs.items():
        if d is None:
            print(f"{k:<20}{'missing':>24}")
        else:
            print(f"{k:<20}{d['ours']:>24.17g}{d['sklearn']:>24.17g}{d['abs']:>12.3g}")
    print(f"agreement (1e-12, every rep): {all_ok}; confusion matrices equal: {cm_equal}")
    print(json.dumps({"workload": "W-METRICS", "summary": True, "kind": ref["kind"], "rows": ref["rows"],
                      "median_time_s": med, "speedup_metrics": med["sklearn"]["metrics"] / med["mlops"]["metrics"],
                      "speedup_total": med["sklearn"]["total"] / med["mlops"]["total"],
                      "peak_rss_mb": rss, "agree": all_ok, "confusion_equal": cm_equal}))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
