#!/usr/bin/env python3
"""W-TRAIN side by side: our burn trainer (benches/w_train.rs) against PyTorch on the CPU
(../shared/bench/peers/peer_train.py), interleaved in one run, printing throughput, held-out
accuracy and single-row / 64-row inference latency with their ratios.

    python3 benches/w_train.py --input bench-data/train.parquet             # 3 timed reps
    python3 benches/w_train.py --input bench-data/train.parquet --reps 1 --epochs 1
    python3 benches/w_train.py --input ... --binary target/release/w_train  # skip cargo build

The input comes from ../shared/bench/gen.py (BENCHMARKS.md, "W-TRAIN"):
    python ../shared/bench/gen.py train --rows 1000000 --features 32 --seed 5 --out bench-data/train.parquet
PyTorch comes from --peer-python (default: the peer venv, ~/.cache/peers-venv); any Python
with torch 2.15, numpy and pyarrow will do. Both sides train with 2 threads; latency is
measured with 1 thread on each side (median of --calls calls).
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

TORCH_LATENCY = r"""
import json, sys, time, statistics
import numpy as np, pyarrow.parquet as pq, torch
torch.set_num_threads(1)
path, calls = sys.argv[1], int(sys.argv[2])
tbl = pq.read_table(path, columns=[f"x{i}" for i in range(32)])
x = torch.from_numpy(np.column_stack([tbl[c].to_numpy() for c in tbl.column_names]).astype(np.float32)[:100_000])
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(32, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                            torch.nn.ReLU(), torch.nn.Linear(256, 2)).eval()
def run(rows):
    t = []
    with torch.inference_mode():
        for i in range(calls):
            s = (i * 7919) % (x.shape[0] - rows)
            xb = x[s:s + rows]
            t0 = time.perf_counter()
            model(xb)
            t.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(t)
run(1)
print(json.dumps({"forward_1_row": run(1), "forward_64_rows": run(64), "calls": calls,
                  "threads": torch.get_num_threads(), "torch": torch.__version__}))
"""


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{r.stderr[-3000:]}")
    return last_json(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--binary", help="a built w_train binary (default: cargo build --release)")
    ap.add_argument("--peer-python", default=os.path.join(
        os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/peers-venv")), "bin", "python"))
    a = ap.parse_args()
    path = os.path.abspath(a.input)
    binary = a.binary
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "mlops-benches", "--bin", "w_train"],
                       cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "w_train")

    machine = {"nproc": os.cpu_count(),
               "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    print(json.dumps({"workload": "W-TRAIN", "machine": machine}), flush=True)
    ours_cmd = [binary, "--input", path, "--epochs", str(a.epochs)]
    peer_cmd = [a.peer_python, os.path.join(PEERS, "peer_train.py"), "--input", path,
                "--epochs", str(a.epochs), "--threads", "2"]
    res = {"mlops": [], "pytorch": []}
    for rep in range(a.reps + 1):  # rep 0 is the untimed warm-up
        for name, cmd, cwd in (("mlops", ours_cmd, ROOT), ("pytorch", peer_cmd, PEERS)):
            r = run(cmd, cwd=cwd)
            if rep > 0:
                res[name].append(r)
            print(json.dumps({"rep": rep, "impl": name, "samples_per_s": r["samples_per_s"],
                              "heldout_accuracy": r["heldout_accuracy"], "peak_rss_mb": r["peak_rss_mb"],
                              "per_epoch": r["per_epoch"]}), flush=True)

    env1 = dict(os.environ, RAYON_NUM_THREADS="1")
    lat_ours = run(ours_cmd[:3] + ["--epochs", "1", "--latency", "--calls", str(a.calls)], env=env1, cwd=ROOT)["latency_us"]
    lat_torch = run([a.peer_python, "-c", TORCH_LATENCY, path, str(a.calls)])

    sps = {n: [r["samples_per_s"] for r in runs] for n, runs in res.items()}
    acc = {n: [r["heldout_accuracy"] for r in runs] for n, runs in res.items()}
    med = {n: statistics.median(v) for n, v in sps.items()}
    best = {n: max(v) for n, v in sps.items()}
    acc_med = {n: statistics.median(v) for n, v in acc.items()}
    rss = {n: max(r["peak_rss_mb"] for r in runs) for n, runs in res.items()}
    gap = abs(acc_med["mlops"] - acc_med["pytorch"])
    agree = all(0.90 <= x <= 0.96 for x in acc["mlops"]) and gap <= 0.01
    print()
    print(f"W-TRAIN  epochs={a.epochs}  reps={a.reps}  nproc={machine['nproc']}  {machine['uptime']}")
    print(f"{'':<28}{'mlops':>14}{'pytorch':>14}{'ratio':>9}")
    print(f"{'samples/s (median)':<28}{med['mlops']:>14,.0f}{med['pytorch']:>14,.0f}{med['mlops'] / med['pytorch']:>8.2f}x")
    print(f"{'samples/s (best)':<28}{best['mlops']:>14,.0f}{best['pytorch']:>14,.0f}{best['mlops'] / best['pytorch']:>8.2f}x")
    print(f"{'held-out accuracy (median)':<28}{acc_med['mlops']:>14.4f}{acc_med['pytorch']:>14.4f}{'':>9}")
    print(f"{'peak RSS (MB)':<28}{rss['mlops']:>14.0f}{rss['pytorch']:>14.0f}")
    for k in ("forward_1_row", "forward_64_rows"):
        print(f"{k + ' (us, 1 thread)':<28}{lat_ours[k]:>14.1f}{lat_torch[k]:>14.1f}{lat_torch[k] / lat_ours[k]:>8.2f}x")
    print(f"{'predict_row JSON (us)':<28}{lat_ours['predict_row_json']:>14.1f}")
    q = res["mlops"][-1]["int8"]
    print(f"int8 weights: {q['weights_bytes']:,} vs {q['f32_weights_bytes']:,} bytes; held-out accuracy "
          f"{q['heldout_accuracy']:.4f} (change {q['accuracy_change']:+.4f})")
    print(f"accuracy within [0.90, 0.96] and within 1 point of PyTorch: {agree} (gap {gap:.4f})")
    print(json.dumps({"workload": "W-TRAIN", "summary": True, "epochs": a.epochs, "reps": a.reps,
                      "samples_per_s_median": med, "samples_per_s_best": best,
                      "throughput_ratio": med["mlops"] / med["pytorch"],
                      "heldout_accuracy_median": acc_med, "accuracy_gap": gap, "agree": agree,
                      "peak_rss_mb": rss, "latency_us": {"mlops": lat_ours, "pytorch": lat_torch},
                      "machine": machine}))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
