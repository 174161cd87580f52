#!/usr/bin/env python3
"""W-DRIFT side by side: our drift statistics (benches/w_drift.rs) against the scipy loop
and Evidently 0.7 (../shared/bench/peers/peer_drift.py), interleaved in one run, printing
the ratios and the agreement checks of BENCHMARKS.md.

    python3 benches/w_drift.py --evidently-reps 3      # 1M rows, 3 reps after a warm-up, all cores
    python3 benches/w_drift.py --smoke                 # 100k-row files, 1 rep
    python3 benches/w_drift.py --evidently-reps 0      # skip Evidently (slow at 1M rows)
    python3 benches/w_drift.py --threads 1             # per-core numbers

Inputs (git-ignored), made by ../shared/bench/gen.py:
    ~/.cache/peers-venv/bin/python ../shared/bench/gen.py drift --rows 1000000 --seed 11 \\
        --out-ref bench-data/drift_ref.parquet --out-cur bench-data/drift_cur.parquet
scipy runs in the peer venv (--scipy-python), Evidently in its own venv
(--evidently-python, default <peer venv>-evidently/bin/python).
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
EXPECTED = {"ks": ["f0", "f1", "f2", "f3"], "psi": ["f1", "f3"], "chi2": ["c0", "c1"]}


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{r.stderr[-3000:]}")
    return last_json(r.stdout)


def rel(a, b):
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def agree_scipy(ours, sc):
    """BENCHMARKS.md W-DRIFT 'Must agree' between ours and the scipy loop."""
    worst = {"ks_stat_abs": 0.0, "ks_p_abs": 0.0, "chi2_p_abs": 0.0, "psi_rel_or_abs": 0.0,
             "js_rel_or_abs": 0.0, "chi2_stat_rel": 0.0, "wasserstein_rel": 0.0}
    for c, s in sc["columns"].items():
        o = ours["columns"][c]
        if "ks_stat" in s:
            worst["ks_stat_abs"] = max(worst["ks_stat_abs"], abs(o["ks_stat"] - s["ks_stat"]))
            worst["ks_p_abs"] = max(worst["ks_p_abs"], abs(o["ks_p"] - s["ks_p"]))
            worst["psi_rel_or_abs"] = max(worst["psi_rel_or_abs"], min(abs(o["psi"] - s["psi"]), rel(o["psi"], s["psi"])))
            worst["js_rel_or_abs"] = max(worst["js_rel_or_abs"],
                                         min(abs(o["js_base2"] - s["js_base2"]), rel(o["js_base2"], s["js_base2"])))
            worst["wasserstein_rel"] = max(worst["wasserstein_rel"], rel(o["wasserstein_norm"], s["wasserstein_norm"]))
        else:
            worst["chi2_p_abs"] = max(worst["chi2_p_abs"], abs(o["chi2_p"] - s["chi2_p"]))
            worst["chi2_stat_rel"] = max(worst["chi2_stat_rel"], rel(o["chi2_stat"], s["chi2_stat"]))
    ok = (ours["drifted"] == sc["drifted"] and worst["ks_stat_abs"] <= 1e-12 and worst["ks_p_abs"] <= 1e-6
          and worst["chi2_p_abs"] <= 1e-6 and worst["psi_rel_or_abs"] <= 1e-10 and worst["js_rel_or_abs"] <= 1e-10
          and worst["chi2_stat_rel"] <= 1e-9 and worst["wasserstein_rel"] <= 1e-9)
    return ok, worst


def agree_evidently(ours, ev):
    """Where Evidently computes the same quantity: KS p, chi2 p, normed Wasserstein, decisions."""
    num = [c for c in ev["columns"] if c.startswith("f")]
    cat = [c for c in ev["columns"] if c.startswith("c")]
    return {
        "ks_p_max_abs_diff": max(abs(ours["columns"][c]["ks_p"] - ev["columns"][c]["ks_p"]) for c in num),
        "chi2_p_max_abs_diff": max(abs(ours["columns"][c]["chi2_p"] - ev["columns"][c]["chi2_p"]) for c in cat),
        "wasserstein_max_rel_diff": max(rel(ours["columns"][c]["wasserstein_norm"], ev["columns"][c]["wasserstein_norm"])
                                        for c in num),
        "ks_chi2_decisions_equal": (ours["drifted"]["ks"] == ev["drifted"]["ks"]
                                    and ours["drifted"]["chi2"] == ev["drifted"]["chi2"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default=os.path.join(ROOT, "bench-data", "drift_ref.parquet"))
    ap.add_argument("--cur", default=os.path.join(ROOT, "bench-data", "drift_cur.parquet"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--evidently-reps", type=int, default=1, help="timed Evidently reps (0 = skip)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="our worker threads (default: every core; 1 = per-core numbers)")
    peer_venv = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/peers-venv"))
    ap.add_argument("--scipy-python", default=os.path.join(peer_venv, "bin", "python"))
    ap.add_argument("--evidently-python", default=os.environ.get(
        "EVIDENTLY_PYTHON", peer_venv.rstrip("/") + "-evidently/bin/python"))
    ap.add_argument("--smoke", action="store_true", help="100k-row files, one rep")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.ref = os.path.join(ROOT, "bench-data", "drift_ref_100k.parquet")
        a.cur = os.path.join(ROOT, "bench-data", "drift_cur_100k.parquet")
        a.reps, a.evidently_reps = 1, min(a.evidently_reps, 1)
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "mlops-benches", "--bin", "w_drift"], cwd=ROOT,
                       check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.join(target, "release", "w_drift")
    peer = os.path.join(PEERS, "peer_drift.py")
    ours_cmd = [binary, "--ref", a.ref, "--cur", a.cur, "--threads", str(a.threads)]
    scipy_cmd = [a.scipy_python, peer, "--ref", a.ref, "--cur", a.cur, "--impl", "scipy"]
    ev_cmd = [a.evidently_python, peer, "--ref", a.ref, "--cur", a.cur, "--impl", "evidently"]

    env_info = {"nproc": os.cpu_count(),
                "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    print(json.dumps({"workload": "W-DRIFT", "machine": env_info, "ours": ours_cmd}), flush=True)
    res = {"mlops": [], "scipy": [], "evidently": []}
    for rep in range(a.reps + 1):  # rep 0 is the untimed warm-up
        timed = rep > 0
        for name, cmd in (("mlops", ours_cmd), ("scipy", scipy_cmd)):
            r = run(cmd)
            if timed:
                res[name].append(r)
            print(json.dumps({"rep": rep, "timed": timed, **r}), flush=True)
        if timed and rep <= a.evidently_reps:
            r = run(ev_cmd)
            res["evidently"].append(r)
            print(json.dumps({"rep": rep, "timed": True, **r}), flush=True)

    env_info["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    med = {k: statistics.median(r["time_s"]["total"] for r in v) for k, v in res.items() if v}
    best = {k: min(r["time_s"]["total"] for r in v) for k, v in res.items() if v}
    ours = res["mlops"][-1]
    ok, worst = agree_scipy(ours, res["scipy"][-1])
    summary = {"workload": "W-DRIFT", "summary": True, "rows": ours["rows_ref"], "threads": a.threads,
               "machine": env_info, "reps": {k: len(v) for k, v in res.items()},
               "total_s_median": med, "total_s_min": best, "agree_scipy": ok, "scipy_worst": worst,
               "as_expected": ours["as_expected"], "peak_rss_mb": {k: max(r["peak_rss_mb"] for r in v)
                                                                   for k, v in res.items() if v}}
    print()
    print(f"W-DRIFT rows={ours['rows_ref']} reps={a.reps} threads={a.threads} nproc={env_info['nproc']}")
    print(f"  start: {env_info['uptime']}")
    print(f"  end:   {env_info['uptime_end']}")
    print(f"{'impl':<12}{'reps':>6}{'median s':>12}{'min s':>10}{'speedup (median)':>19}")
    for k, v in med.items():
        print(f"{k:<12}{len(res[k]):>6}{v:>12.4f}{best[k]:>10.4f}{v / med['mlops']:>18.1f}x")
        summary[f"speedup_vs_{k}"] = v / med["mlops"]
    st_o = ours["time_s"]
    st_s = res["scipy"][-1]["time_s"]
    print("per statistic (last rep; ours' sort time is shared by KS and Wasserstein):")
    for k in ("ks", "psi", "wasserstein", "js", "chi2"):
        o = st_o[f"stat_{k}"] + (st_o["stat_sort"] / 2 if k in ("ks", "wasserstein") else 0.0)
        s = st_s[f"stat_{k}"]
        print(f"  {k:<12} ours {o:9.4f} s   scipy {s:9.4f} s   {s / max(o, 1e-12):8.1f}x")
        summary[f"stat_speedup_{k}"] = s / max(o, 1e-12)
    # Throughput per statistic: both sides of every numeric column (2 * rows * 20 values)
    # over its time, ours with half the shared sort charged to KS and to Wasserstein.
    vals = 2 * ours["rows_ref"] * 20
    for k in ("ks", "psi", "wasserstein", "js"):
        o = st_o[f"stat_{k}"] + (st_o["stat_sort"] / 2 if k in ("ks", "wasserstein") else 0.0)
        summary[f"values_per_s_{k}"] = vals / max(o, 1e-12)
    print("values/s per statistic (ours): " + ", ".join(
        f"{k} {summary[f'values_per_s_{k}'] / 1e6:.0f}M" for k in ("ks", "psi", "wasserstein", "js")))
    print(f"agreement with scipy (BENCHMARKS tolerances): {ok}  {json.dumps(worst)}")
    print(f"decisions as expected: ours={ours['as_expected']} scipy={res['scipy'][-1]['as_expected']}")
    if res["evidently"]:
        ev = agree_evidently(ours, res["evidently"][-1])
        summary["evidently"] = ev
        print(f"agreement with Evidently: {json.dumps(ev)}")
    print(json.dumps(summary))
    return 0 if ok and ours["as_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
