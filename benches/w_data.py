#!/usr/bin/env python3
"""W-DATA side by side: mlops-data (benches/w_data.rs) against polars, pandas, duckdb and
pyarrow (../shared/bench/peers/peer_data.py), each in a fresh process, interleaved, printing
the ratios and whether every correctness value agrees.

    python3 benches/w_data.py --input bench-data/tabular.parquet            # 3 reps + warm-up
    python3 benches/w_data.py --input bench-data/tabular_1m.parquet --reps 1 --engines polars,duckdb
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
KEYS = ("rows_in", "violations", "rows_after_dedup", "split_rows", "split_users", "fingerprints")


def last_json(text):
    return json.loads([l for l in text.strip().splitlines() if l.startswith("{")][-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench-out", "data"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engines", default="polars,pandas,duckdb,pyarrow")
    ap.add_argument("--python", default=os.path.join(
        os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/peers-venv")), "bin", "python"))
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "mlops-benches", "--bin", "w_data"], cwd=ROOT, check=True)
    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "w_data")
    engines = a.engines.split(",")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results = {"mlops": [], **{e: [] for e in engines}}
    for rep in range(a.reps + 1):
        r = last_json(subprocess.run([binary, "--input", a.input, "--out-dir", a.out_dir],
                                     capture_output=True, text=True, check=True).stdout)
        print(json.dumps({"rep": rep, **r}), flush=True)
        if rep:
            results["mlops"].append(r)
        for e in engines:
            p = subprocess.run([a.python, os.path.join(PEERS, "peer_data.py"), "--input", a.input,
                                "--out-dir", a.out_dir, "--engine", e], capture_output=True, text=True)
            if p.returncode != 0:
                print(json.dumps({"engine": e, "error": p.stderr[-1500:]}), flush=True)
                continue
            r = last_json(p.stdout)
            print(json.dumps({"rep": rep, **r}), flush=True)
            if rep:
                results[e].append(r)
    ours = results["mlops"]
    base = {k: json.dumps(ours[0][k], sort_keys=True) for k in KEYS}
    print(f"\nW-DATA {a.input} reps={a.reps} nproc={os.cpu_count()} {uptime}")
    print(f"{'engine':<10}{'total s (median)':>18}{'min':>10}{'peak RSS MB':>14}{'mlops speedup':>15}  agree")
    med = lambda rs: statistics.median(r["time_s"]["total"] for r in rs)
    for name, rs in results.items():
        if not rs:
            continue
        agree = all(json.dumps(r[k], sort_keys=True) == base[k] for r in rs for k in KEYS)
        print(f"{name:<10}{med(rs):>18.3f}{min(r['time_s']['total'] for r in rs):>10.3f}"
              f"{statistics.median(r['peak_rss_mb'] for r in rs):>14.0f}{med(rs) / med(ours):>14.2f}x  {agree}")
    steps = {k: statistics.median(r["time_s"][k] for r in ours) for k in ours[0]["time_s"]}
    print("mlops steps (median s): " + ", ".join(f"{k} {v:.3f}" for k, v in steps.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
