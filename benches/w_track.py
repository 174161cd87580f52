#!/usr/bin/env python3
"""W-TRACK side by side: the embedded store (benches/w_track.rs) against MLflow's SQLite
store in-process (and, with --with-server, `mlflow server` over HTTP), interleaved in one
run, printing the ratios.

    python3 benches/w_track.py                      # full size, 3 reps after a warm-up
    python3 benches/w_track.py --smoke              # small sizes, 1 rep, a minute or so

MLflow comes from the peer venv made by ../shared/bench/peers/setup.sh
(SKIP_TORCH=1 is enough); --mlflow-python points elsewhere. MLflow's step (a) is capped
(--mlflow-steps-a, default 500 steps = 5,000 calls) because it runs at ~4 ms per call;
points/s is compared, and the JSON says "capped".
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "peers"))
EXPECTED_SHA = "5f881f4f716e4f75d0e186dc6cd74369a5ca2854dc3ef02acbc8703b9b468fd9"


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def run_ours(binary, a, work):
    cmd = [binary, "--work-dir", work, "--steps", str(a.steps), "--runs", str(a.runs)]
    if a.scale:
        cmd.append("--scale")
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out = last_json(r.stdout)
    names = out["d"].pop("names")
    out["d"]["names_sha256"] = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return out


def run_mlflow(py, backend, a, work):
    cmd = [py, os.path.join(PEERS, "peer_track.py"), "--backend", backend, "--work-dir", work,
           "--steps", str(a.steps), "--runs", str(a.runs), "--steps-a", str(min(a.mlflow_steps_a, a.steps))]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mlflow {backend} failed:\n{r.stderr[-3000:]}")
    return last_json(r.stdout)


def metrics_of(res):
    return {
        "a_points_per_s": res["a"]["points_per_s"],
        "b_points_per_s": res["b"]["points_per_s"],
        "c_read_s": res["c"]["time_s"],
        "d_runs_per_s": res["d"]["runs_per_s"],
        "d_search_first_s": res["d"]["search_first_s"],
        "d_search_median_s": res["d"]["search_median_s"],
    }


HIGHER_IS_BETTER = {"a_points_per_s", "b_points_per_s", "d_runs_per_s"}


def agree(res, a):
    d, c = res["d"], res["c"]
    ok = c["history_exact"] and c["history_a_exact"] and c["points"] == a.steps
    if a.steps == 10_000 and a.runs == 1_000:
        ok = ok and d["names_sha256"] == EXPECTED_SHA and d["results"] == 100 and d["matching_runs_total"] == 165
    return bool(ok and d["search_exact"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-dir", default=os.path.join(ROOT, "bench-out", "track"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1_000)
    ap.add_argument("--mlflow-steps-a", type=int, default=500)
    ap.add_argument("--mlflow-python", default=os.path.join(
        os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/peers-venv")), "bin", "python"))
    ap.add_argument("--with-server", action="store_true", help="also run `mlflow server` over HTTP")
    ap.add_argument("--scale", action="store_true", help="also run our 1M-point / 100k-run scale targets")
    ap.add_argument("--smoke", action="store_true", help="small sizes, one rep")
    a = ap.parse_args()
    if a.smoke:
        a.steps, a.runs, a.reps, a.mlflow_steps_a = 200, 100, 1, 100
    os.makedirs(a.work_dir, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "mlops-benches", "--bin", "w_track"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.join(target, "release", "w_track")
    peers = ["sqlite"] + (["server"] if a.with_server else [])

    env_info = {"nproc": os.cpu_count(), "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    print(json.dumps({"workload": "W-TRACK", "machine": env_info}), flush=True)
    results = {"mlops": [], **{f"mlflow-{p}": [] for p in peers}}
    for rep in range(a.reps + 1):  # rep 0 is the untimed warm-up
        timed = rep > 0
        r = run_ours(binary, a, os.path.join(a.work_dir, "ours"))
        if timed:
            results["mlops"].append(r)
        print(json.dumps({"rep": rep, "timed": timed, **r}), flush=True)
        for p in peers:
            m = run_mlflow(a.mlflow_python, p, a, os.path.join(a.work_dir, "mlflow"))
            if timed:
                results[f"mlflow-{p}"].append(m)
            print(json.dumps({"rep": rep, "timed": timed, **m}), flush=True)

    summary = {}
    for name, runs in results.items():
        per = [metrics_of(r) for r in runs]
        summary[name] = {k: {"median": statistics.median(x[k] for x in per), "min": min(x[k] for x in per)} for k in per[0]}
        summary[name]["agree"] = all(agree(r, a) for r in runs)
    ours = summary["mlops"]
    print()
    print(f"W-TRACK  steps={a.steps} runs={a.runs} reps={a.reps}  nproc={env_info['nproc']}  {env_info['uptime']}")
    print(f"{'metric':<22}{'mlops (median)':>16}" + "".join(f"{'mlflow-' + p:>18}{'speedup':>10}" for p in peers))
    for k in ours:
        if k == "agree":
            continue
        line = f"{k:<22}{ours[k]['median']:>16.6g}"
        for p in peers:
            theirs = summary[f"mlflow-{p}"][k]["median"]
            ratio = ours[k]["median"] / theirs if k in HIGHER_IS_BETTER else theirs / ours[k]["median"]
            line += f"{theirs:>18.6g}{ratio:>9.1f}x"
        print(line)
    print("agreement: " + ", ".join(f"{n}={s['agree']}" for n, s in summary.items()))
    last = results["mlops"][-1]
    print(f"log_metric call p50 {last['a']['call_p50_us']:.2f} us, p99 {last['a']['call_p99_us']:.2f} us; "
          f"open existing store {last['open_existing_s']['median'] * 1e3:.2f} ms")
    if a.scale:
        print("scale: " + json.dumps(last["scale"]))
    print(json.dumps({"workload": "W-TRACK", "summary": summary}))
    return 0 if all(s["agree"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
