#!/usr/bin/env python3
"""W-FILES side by side: fingerprinting a file tree with mlops_data::files (benches/w_files.rs:
BLAKE3, every file in parallel, stat cache) against `dvc add` 3.x (MD5, state DB), interleaved
in one run, printing the ratios.

    python3 benches/w_files.py                  # 20,000 files of 1-64 KiB + 20 of 50 MiB, 3 reps
    python3 benches/w_files.py --smoke          # 2,000 small + 2 x 8 MiB, 1 rep
    python3 benches/w_files.py --skip-commit    # only `dvc add --no-commit` (no cache copy)

The tree is generated once (seeded) under --root (default bench-out/files, git-ignored) and
reused while its parameters match. Each rep, after an untimed warm-up rep, times:

    mlops cold       w_files with an empty stat cache: every file is read and hashed
    mlops warm       w_files again: the stat cache answers, nothing is read
    dvc cold         `dvc add data` after removing data.dvc, .dvc/cache, .dvc/tmp and dvc's
                     site cache dir (its state DB of hashes and links): hashes every file
                     (MD5) AND copies it into .dvc/cache (cache.type default reflink,copy;
                     ext4 has no reflink, so copy)
    dvc warm         `dvc add data` again, unchanged: the state DB answers
    dvc nc cold      `dvc add --no-commit data` from the same clean state: hashing only,
                     no cache copy (the like-for-like fingerprinting number)
    dvc nc warm      `dvc add --no-commit data` again

Times are wall clock around the process (start-up included, both sides), and CPU seconds
(user + system, all threads) from wait4, which a busy shared machine disturbs less. Peak
RSS: dvc's is the child's ru_maxrss from wait4; ours is the binary's own VmHWM, because
Linux folds the spawning process's RSS (this runner, 20-40 MB) into a child's ru_maxrss at
exec, which would hide a figure that small (dvc's is several times the runner's). Before every run the script calls sync(), untimed, so the
write-back of dvc's cache copy does not land in the next run's time. The page cache is warm for everyone (the tree was just
written or read), so these are CPU-and-syscall numbers, not disk numbers. dvc runs from its
own venv (--dvc, default ~/.cache/dvc-venv/bin/dvc; `python3 -m venv ~/.cache/dvc-venv &&
~/.cache/dvc-venv/bin/pip install dvc==3.67.1`), with analytics and update checks off.
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KINDS = ["mlops_cold", "mlops_warm", "dvc_cold", "dvc_warm", "dvc_nc_cold", "dvc_nc_warm"]


def gen_tree(data, a):
    """Seeded tree: small files spread over folders of --per-dir files, plus big files."""
    rng = random.Random(a.seed)
    if os.path.exists(data):
        shutil.rmtree(data)
    total = 0
    for i in range(a.small):
        d = os.path.join(data, "small", f"d{i // a.per_dir:04d}")
        if i % a.per_dir == 0:
            os.makedirs(d, exist_ok=True)
        n = rng.randint(a.small_min_kib * 1024, a.small_max_kib * 1024)
        with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
            f.write(rng.randbytes(n))
        total += n
    os.makedirs(os.path.join(data, "big"), exist_ok=True)
    for j in range(a.big):
        path = os.path.join(data, "big", f"b{j:03d}.bin")
        with open(path, "wb") as f:
            left = a.big_mib << 20
            while left:
                n = min(left, 8 << 20)
                f.write(rng.randbytes(n))
                left -= n
        total += a.big_mib << 20
    return total


def spawn(cmd, cwd=None, env=None):
    """Runs cmd; returns (wall s, CPU s (user + sys), peak RSS MB of the child, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{stderr[-3000:]}{stdout[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, stdout, stderr


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def dvc_out(proj):
    """md5, size, nfiles of data.dvc (tiny YAML, read with regexes)."""
    text = open(os.path.join(proj, "data.dvc")).read()

    def field(name):
        m = re.search(rf"^\s*-?\s*{name}:\s*(\S+)", text, re.M)
        return m.group(1) if m else None

    return {"md5": field("md5"), "size": int(field("size")), "nfiles": int(field("nfiles"))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(ROOT, "bench-out", "files"))
    ap.add_argument("--small", type=int, default=20000, help="number of small files")
    ap.add_argument("--small-min-kib", type=int, default=1)
    ap.add_argument("--small-max-kib", type=int, default=64)
    ap.add_argument("--per-dir", type=int, default=100, help="small files per folder")
    ap.add_argument("--big", type=int, default=20, help="number of big files")
    ap.add_argument("--big-mib", type=int, default=50)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--reps", type=int, default=3, help="timed reps after one untimed warm-up")
    ap.add_argument("--threads", type=int, default=0, help="our threads (0 = all cores)")
    ap.add_argument("--dvc", default=os.path.expanduser("~/.cache/dvc-venv/bin/dvc"))
    ap.add_argument("--skip-commit", action="store_true",
                    help="skip plain `dvc add` (it copies the tree into .dvc/cache: needs that much disk)")
    ap.add_argument("--smoke", action="store_true", help="2,000 small files + 2 x 8 MiB, 1 rep")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.small, a.big, a.big_mib, a.reps = 2000, 2, 8, 1
        a.root = a.root.rstrip("/") + "-smoke"

    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "mlops-benches", "--bin", "w_files"],
                       cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.join(target, "release", "w_files")

    root = os.path.abspath(a.root)
    proj = os.path.join(root, "proj")
    data = os.path.join(proj, "data")
    site_cache = os.path.join(root, "dvc-site-cache")
    our_cache = os.path.join(root, "mlops-cache")
    params = {k: getattr(a, k) for k in ("small", "small_min_kib", "small_max_kib", "per_dir", "big", "big_mib",
                                         "seed")}
    marker = os.path.join(root, "tree.json")
    os.makedirs(root, exist_ok=True)
    expected_bytes = a.small * (a.small_min_kib + a.small_max_kib) * 512 + a.big * (a.big_mib << 20)
    have = os.path.exists(marker) and json.load(open(marker)).get("params") == params and os.path.isdir(data)
    need = (0 if have else expected_bytes) + (0 if a.skip_commit else expected_bytes) + (1 << 30)
    free = shutil.disk_usage(root).free
    if free < need:
        sys.exit(f"not enough disk under {root}: {free / 2**30:.1f} GiB free, about {need / 2**30:.1f} GiB "
                 "needed (tree + dvc's cache copy + 1 GiB); use --skip-commit or a smaller tree")
    if not have:
        t0 = time.perf_counter()
        total = gen_tree(data, a)
        json.dump({"params": params, "total_bytes": total}, open(marker, "w"))
        print(f"generated {a.small + a.big} files, {total / 1e9:.2f} GB in {time.perf_counter() - t0:.0f} s",
              flush=True)

    # dvc keeps its state DB (hashes, links) in a site cache dir, /var/tmp/dvc/repo/<hash> by
    # default: point it into --root so that a cold run can remove it and nothing is left behind.
    env = dict(os.environ, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=site_cache)
    if not os.path.isdir(os.path.join(proj, ".dvc")):
        subprocess.run([a.dvc, "init", "--no-scm", "-q"], cwd=proj, env=env, check=True)
    for key, value in (("core.analytics", "false"), ("core.check_update", "false")):
        subprocess.run([a.dvc, "config", key, value], cwd=proj, env=env, check=True)
    dvc_version = subprocess.run([a.dvc, "--version"], capture_output=True, text=True, env=env).stdout.strip()

    def dvc_reset():
        for p in (os.path.join(proj, ".dvc", "cache"), os.path.join(proj, ".dvc", "tmp"), site_cache):
            shutil.rmtree(p, ignore_errors=True)
        for p in (os.path.join(proj, "data.dvc"), os.path.join(proj, ".gitignore")):
            if os.path.exists(p):
                os.remove(p)

    ours_cmd = [binary, "--path", data, "--threads", str(a.threads)]
    runs = {
        "mlops_cold": (lambda: shutil.rmtree(our_cache, ignore_errors=True), ours_cmd + ["--cache-dir", our_cache]),
        "mlops_warm": (None, ours_cmd + ["--cache-dir", our_cache]),
        "dvc_cold": (dvc_reset, [a.dvc, "add", "-q", "data"]),
        "dvc_warm": (None, [a.dvc, "add", "-q", "data"]),
        "dvc_nc_cold": (dvc_reset, [a.dvc, "add", "-q", "--no-commit", "data"]),
        "dvc_nc_warm": (None, [a.dvc, "add", "-q", "--no-commit", "data"]),
    }
    kinds = [k for k in KINDS if not (a.skip_commit and k in ("dvc_cold", "dvc_warm"))]

    machine = {"nproc": os.cpu_count(), "loadavg_start": os.getloadavg(), "dvc": dvc_version}
    print(json.dumps({"workload": "W-FILES", "machine": machine, "params": params, "ours": ours_cmd}), flush=True)
    res = {k: [] for k in kinds}
    digests, dvc_md5s, checks = set(), set(), []
    for rep in range(a.reps + 1):  # rep 0 is the untimed warm-up
        for k in kinds:
            prepare, cmd = runs[k]
            if prepare:
                prepare()
            os.sync()
            load = os.getloadavg()[0]
            wall, cpu, rss, stdout, _ = spawn(cmd, cwd=proj, env=env)
            row = {"rep": rep, "timed": rep > 0, "kind": k, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
                   "peak_rss_mb": round(rss, 1), "load1": round(load, 2)}
            if k.startswith("mlops"):
                r = last_json(stdout)
                digests.add(r["digest"])
                row.update({"wait4_peak_rss_mb": row["peak_rss_mb"], "peak_rss_mb": round(r["peak_rss_mb"], 1),
                            "internal_s": round(r["time_s"], 4), "n_files": r["n_files"],
                            "total_bytes": r["total_bytes"], "n_cached": r["n_cached"],
                            "bytes_hashed": r["bytes_hashed"]})
                checks.append((r["n_files"], r["total_bytes"]))
            else:
                out = dvc_out(proj)
                dvc_md5s.add(out["md5"])
                row.update(out)
                checks.append((out["nfiles"], out["size"]))
            if rep > 0:
                res[k].append(row)
            print(json.dumps(row), flush=True)
    dvc_reset()  # frees the cache copy

    med = {k: statistics.median(r["wall_s"] for r in v) for k, v in res.items()}
    cpu = {k: statistics.median(r["cpu_s"] for r in v) for k, v in res.items()}
    rss = {k: max(r["peak_rss_mb"] for r in v) for k, v in res.items()}
    n_files, total_bytes = checks[0]
    agree = len(set(checks)) == 1 and len(digests) == 1 and len(dvc_md5s) == 1
    warm_ok = all(r["n_cached"] == n_files and r["bytes_hashed"] == 0 for r in res["mlops_warm"])
    machine["loadavg_end"] = os.getloadavg()
    summary = {"workload": "W-FILES", "summary": True, "n_files": n_files, "total_bytes": total_bytes,
               "reps": a.reps, "median_wall_s": med, "median_cpu_s": cpu, "max_peak_rss_mb": rss,
               "machine": machine,
               "same_files_and_bytes_every_run": agree, "warm_reads_nothing": warm_ok,
               "digest": digests.pop() if len(digests) == 1 else sorted(digests),
               "dvc_md5": dvc_md5s.pop() if len(dvc_md5s) == 1 else sorted(dvc_md5s)}
    pairs = [("cold: mlops vs dvc add --no-commit", "dvc_nc_cold", "mlops_cold"),
             ("cold: mlops vs dvc add", "dvc_cold", "mlops_cold"),
             ("warm: mlops vs dvc add --no-commit", "dvc_nc_warm", "mlops_warm"),
             ("warm: mlops vs dvc add", "dvc_warm", "mlops_warm")]
    print()
    print(f"W-FILES {n_files} files, {total_bytes / 1e9:.2f} GB, reps={a.reps}, nproc={machine['nproc']}, "
          f"load {machine['loadavg_start'][0]:.2f} -> {machine['loadavg_end'][0]:.2f}, {dvc_version and 'dvc ' + dvc_version}")
    print(f"{'run':<14}{'wall s (median)':>17}{'CPU s (median)':>16}{'GB/s':>8}{'files/s':>11}{'peak RSS MB':>13}")
    for k in kinds:
        print(f"{k:<14}{med[k]:>17.3f}{cpu[k]:>16.3f}{total_bytes / med[k] / 1e9:>8.2f}{n_files / med[k]:>11.0f}"
              f"{rss[k]:>13.0f}")
    print(f"{'speedup of ours':<38}{'wall':>8}{'CPU':>8}")
    for label, theirs, ours in pairs:
        if theirs in med:
            summary[f"speedup_{theirs}"] = med[theirs] / med[ours]
            summary[f"cpu_ratio_{theirs}"] = cpu[theirs] / max(cpu[ours], 1e-9)
            print(f"{label:<38}{med[theirs] / med[ours]:>7.1f}x{cpu[theirs] / max(cpu[ours], 1e-9):>7.1f}x")
    print(f"same file count and bytes in every run: {agree}; warm runs read nothing: {warm_ok}")
    print(json.dumps(summary))
    return 0 if agree and warm_ok else 1


if __name__ == "__main__":
    sys.exit(main())
