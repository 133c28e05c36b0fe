#!/usr/bin/env python3
"""make bench: moe against the NumPy peer (../shared/peer/peer_numpy.py) on the
same problem instances, in the same run, on the same machine.

For each workload the peer writes its random instance (--save-params), this
script turns it into a .moe script, runs both several times and keeps each
side's best time, checks that the two estimates agree within their standard
errors, and prints samples/s and the ratio.  Absolute times on shared 2-core
machines are noise; the ratio measured in one run is the figure to quote.
Results go to bench/out/results.json and a Markdown table to stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_PY = "/usr/bin/python3"


def fmt_list(v):
    return "[" + ", ".join(repr(float(x)) for x in v) + "]"


def fmt_mat(m):
    return "[" + ", ".join(fmt_list(r) for r in m) + "]"


def peer_params(peer, workload, d, K, tmp):
    path = os.path.join(tmp, f"params-{workload}-{d}-{K}.json")
    subprocess.run([PEER_PY, peer, workload, "--d", str(d), "--K", str(K), "--N", "1",
                    "--save-params", path, "--quiet"], check=True, capture_output=True)
    with open(path) as f:
        return json.load(f)


def run_peer(peer, workload, d, K, N, workers, repeats):
    best = None
    for _ in range(repeats):
        p = subprocess.run([PEER_PY, peer, workload, "--d", str(d), "--K", str(K), "--N", str(N),
                            "--workers", str(workers), "--json", "--quiet"],
                           check=True, capture_output=True, text=True)
        res = json.loads(p.stdout.strip().splitlines()[-1])
        if best is None or res["seconds"] < best["seconds"]:
            best = res
    return best


def run_moe(moe, script, tmp, name, repeats, env=None):
    path = os.path.join(tmp, name + ".moe")
    with open(path, "w") as f:
        f.write(script)
    best = None
    for _ in range(repeats):
        p = subprocess.run([moe, "--format", "json", path], check=True, capture_output=True,
                           text=True, env=env)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        secs = float(lines[-1]["print"])
        if best is None or secs < best[0]:
            best = (secs, lines[:-1])
    return best


def w1_script(P, N, threads, method="mc"):
    return f"""set threads = {threads}
set seed = 12345
law X = normal(mean = {fmt_list(P['mu'])}, cov = {fmt_mat(P['S'])})
router r = linear(W = {fmt_mat(P['W'])}, b = {fmt_list(P['b'])})
let res = boundary_mass(r, X, w = {fmt_list(P['widths'])}, method = "{method}", samples = {N})
report res
print res.seconds
"""


def bench_w1(args, tmp, d, K, N):
    P = peer_params(args.peer, "w1", d, K, tmp)
    peer = run_peer(args.peer, "w1", d, K, N, 2, args.repeats)
    secs, reports = run_moe(args.moe, w1_script(P, N, 2), tmp, f"w1-{d}-{K}", args.repeats)
    rows = reports[0]["rows"]
    # The two estimates must agree: |p_moe - p_peer| within 5 combined SEs.
    worst = max(abs(r["mass"] - p) / max((r["stderr"] ** 2 + s ** 2) ** 0.5, 1e-300)
                for r, p, s in zip(rows, peer["p"], peer["stderr"]))
    rate = N / secs
    return {"workload": f"W1 boundary mass, 8 widths, d={d}, K={K}, N={N:.0e}, 2 threads",
            "moe_seconds": secs, "moe_samples_per_s": rate,
            "peer_seconds": peer["seconds"], "peer_samples_per_s": peer["samples_per_s"],
            "ratio": rate / peer["samples_per_s"], "agreement_z": worst,
            "path": reports[0]["path"]}


def mat_arg(m, tmp, name):
    """A matrix written into the script, or, when it would pass the
    interpreter's 1 MiB line limit (d = 256 covariances do), saved as .npy
    (the same float64 bits) and read with load()."""
    text = fmt_mat(m)
    if len(text) < 256 * 1024 or tmp is None:
        return text
    import numpy as np
    path = os.path.join(tmp, name + ".npy")
    np.save(path, np.array(m, dtype=np.float64))
    return f'load("{path}")'


def risk_script(P, N, threads, method, query="risk", tmp=None):
    """W2: affine experts and a hard-routed affine teacher over a normal law."""
    K = len(P["W"])
    cov = mat_arg(P["S"], tmp, f"cov-{len(P['mu'])}")
    lines = [f"set threads = {threads}", "set seed = 12345",
             f"law X = normal(mean = {fmt_list(P['mu'])}, cov = {cov})",
             f"router r = linear(W = {fmt_mat(P['W'])}, b = {fmt_list(P['b'])})",
             f"router rt = linear(W = {fmt_mat(P['Wt'])}, b = {fmt_list(P['bt'])})"]
    for k in range(K):
        lines.append(f"expert e{k} = affine(beta = {fmt_list(P['B'][k])}, c = {P['c'][k]!r})")
        lines.append(f"expert h{k} = affine(beta = {fmt_list(P['Bt'][k])}, c = {P['ct'][k]!r})")
    experts = ", ".join(f"e{k}" for k in range(K))
    teachers = ", ".join(f"h{k}" for k in range(K))
    lines += [f"model m = moe(router = r, experts = [{experts}])",
              f"target t = teacher(router = rt, experts = [{teachers}]) noise 0",
              f"let res = {query}(m, t, X, {fmt_list(P['taus'])}, method = \"{method}\", samples = {N})",
              "report res", "print res.seconds"]
    return "\n".join(lines) + "\n"


def bench_w2(args, tmp, d, K, N):
    P = peer_params(args.peer, "w2", d, K, tmp)
    peer = run_peer(args.peer, "w2", d, K, N, 2, args.repeats)
    secs, reports = run_moe(args.moe, risk_script(P, N, 2, "mc"), tmp, f"w2-{d}-{K}", args.repeats)
    rows = reports[0]["rows"]
    worst = max(abs(r["gap"] - g) / max((r["gap_stderr"] ** 2 + s ** 2) ** 0.5, 1e-300)
                for r, g, s in zip(rows, peer["gap"], peer["gap_stderr"]))
    rate = N / secs
    return {"workload": f"W2 risk over 12 temperatures, d={d}, K={K}, N={N:.0e}, 2 threads, plain MC",
            "moe_seconds": secs, "moe_samples_per_s": rate,
            "peer_seconds": peer["seconds"], "peer_samples_per_s": peer["samples_per_s"],
            "ratio": rate / peer["samples_per_s"], "agreement_z": worst,
            "path": reports[0]["path"]}


def train_script(P, steps, batch, threads):
    """A student (the instance's router and experts) trained on its teacher
    over N(0, I_d): the step bench/train_torch.py times."""
    K = len(P["W"])
    lines = [f"set threads = {threads}", "set seed = 12345",
             f"law X = normal(dim = {len(P['W'][0])})",
             f"router r = linear(W = {fmt_mat(P['W'])}, b = {fmt_list(P['b'])})",
             f"router rt = linear(W = {fmt_mat(P['Wt'])}, b = {fmt_list(P['bt'])})"]
    for k in range(K):
        lines.append(f"expert e{k} = affine(beta = {fmt_list(P['B'][k])}, c = {P['c'][k]!r})")
        lines.append(f"expert h{k} = affine(beta = {fmt_list(P['Bt'][k])}, c = {P['ct'][k]!r})")
    experts = ", ".join(f"e{k}" for k in range(K))
    teachers = ", ".join(f"h{k}" for k in range(K))
    lines += [f"model m = moe(router = r, experts = [{experts}])",
              f"target t = teacher(router = rt, experts = [{teachers}]) noise 0",
              f"train m on t under X with schedule = 0.5, steps = {steps}, batch = {batch}, "
              f"lr = 0.001, optimizer = \"adam\", log_every = {steps}"]
    return "\n".join(lines) + "\n"


def wall(cmd, repeats):
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return best


def moe_train_rate(args, tmp, P, batch, steps, threads):
    paths = []
    for s in (steps, 2 * steps):
        path = os.path.join(tmp, f"train-{s}-{threads}.moe")
        with open(path, "w") as f:
            f.write(train_script(P, s, batch, threads))
        paths.append(path)
    t1 = wall([args.moe, "--quiet", paths[0]], args.repeats)
    t2 = wall([args.moe, "--quiet", paths[1]], args.repeats)
    return steps / max(t2 - t1, 1e-9)


def torch_train_rate(args, tmp, P, d, batch, steps, threads):
    params = os.path.join(tmp, "train-params.json")
    with open(params, "w") as f:
        json.dump(dict(P, d=d), f)
    best = None
    for _ in range(args.repeats):
        p = subprocess.run([PEER_PY, os.path.join(HERE, "train_torch.py"), params,
                            "--batch", str(batch), "--steps", str(steps), "--threads", str(threads)],
                           check=True, capture_output=True, text=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        best = r if best is None or r["steps_per_s"] > best["steps_per_s"] else best
    return best


def bench_train(args, tmp, d, K, batch, steps):
    """Gradient steps per second of `train` (forward, analytic backward, Adam)
    at d, K and batch: the wall time of 2S steps minus that of S steps, so
    start-up and parsing cancel.  Against PyTorch (CPU, float64, autograd,
    the same step: bench/train_torch.py) when python3-torch is installed,
    with 1 and with 2 threads on both sides (torch's OpenMP threads suffer
    most on a busy machine, so each side's best is compared too); else
    against the NumPy peer's forward pass (its W2 risk, samples/s)."""
    P = peer_params(args.peer, "w2", d, K, tmp)
    moe = {t: moe_train_rate(args, tmp, P, batch, steps, t) for t in (1, 2)}
    out = {"workload": f"train step, d={d}, K={K}, batch={batch}, Adam",
           "moe_steps_per_s": max(moe.values()), "moe_steps_per_s_1": moe[1],
           "moe_steps_per_s_2": moe[2], "moe_samples_per_s": max(moe.values()) * batch}
    try:
        subprocess.run([PEER_PY, "-c", "import torch"], check=True, capture_output=True)
        have_torch = True
    except subprocess.CalledProcessError:
        have_torch = False
    if have_torch:
        tr = {t: torch_train_rate(args, tmp, P, d, batch, steps, t) for t in (1, 2)}
        out.update({"peer": f"PyTorch {tr[1]['torch']} (CPU, float64, autograd + Adam)",
                    "peer_steps_per_s": max(r["steps_per_s"] for r in tr.values()),
                    "peer_steps_per_s_1": tr[1]["steps_per_s"],
                    "peer_steps_per_s_2": tr[2]["steps_per_s"]})
        out["ratio"] = out["moe_steps_per_s"] / out["peer_steps_per_s"]
        out["ratio_1_thread"] = moe[1] / tr[1]["steps_per_s"]
    else:
        N = 2_000_000
        peer = run_peer(args.peer, "w2", d, K, N, 2, args.repeats)
        out.update({"peer": "NumPy peer's forward pass (W2 risk over 12 temperatures, 2 workers; "
                    "python3-torch is not installed)",
                    "peer_samples_per_s": peer["samples_per_s"],
                    "ratio": out["moe_samples_per_s"] / peer["samples_per_s"]})
    return out


def bench_accuracy(args, tmp, d, K, N_moe, N_peer):
    """Time to reach relative error 1e-4 on the gap at the schedule's tau
    nearest 0.01, for moe's auto path and the peer's naive Monte Carlo, each
    extrapolated from the standard error of one run: N_needed =
    (stderr·sqrt(N) / (1e-4·|gap|))², time = N_needed × seconds per sample."""
    P = peer_params(args.peer, "w2", d, K, tmp)
    j = min(range(len(P["taus"])), key=lambda i: abs(P["taus"][i] - 0.01))
    peer = run_peer(args.peer, "w2", d, K, N_peer, 2, 1)
    secs, reports = run_moe(args.moe, risk_script(P, N_moe, 2, "auto", tmp=tmp), tmp,
                            f"acc-{d}-{K}", 1)
    row = reports[0]["rows"][j]

    def need(se, n, gap, sec):
        n_need = (se * n ** 0.5 / (1e-4 * abs(gap))) ** 2
        return n_need * sec / n
    t_moe = need(row["gap_stderr"], N_moe, row["gap"], secs)
    t_peer = need(peer["gap_stderr"][j], N_peer, peer["gap"][j], peer["seconds"])
    return {"workload": f"time to 1e-4 relative error on the gap at tau = {P['taus'][j]:.3g}, "
                        f"linear router over a normal law, d={d}, K={K}, affine teacher",
            "moe_path": reports[0]["path"], "moe_seconds_needed": t_moe,
            "peer_seconds_needed": t_peer, "ratio": t_peer / t_moe,
            "agreement_z": abs(row["gap"] - peer["gap"][j]) /
                           (row["gap_stderr"] ** 2 + peer["gap_stderr"][j] ** 2) ** 0.5}


def bench_density(args, tmp):
    """boundary_density of a linear router with d = 4096, K = 256 over a
    normal law (W random with rows of norm about 1)."""
    import numpy as np
    rng = np.random.default_rng(3)
    d, K = 4096, 256
    paths = {}
    for name, arr in (("W", rng.standard_normal((K, d)) / np.sqrt(d)),
                      ("b", 0.1 * rng.standard_normal(K)), ("mu", 0.5 * rng.standard_normal(d))):
        paths[name] = os.path.join(tmp, name + ".npy")
        np.save(paths[name], arr)
    script = (f'set threads = 2\nlaw X = normal(mean = load("{paths["mu"]}"))\n'
              f'router r = linear(W = load("{paths["W"]}"), b = load("{paths["b"]}"))\n'
              'let C = boundary_density(r, X, samples = 20000)\nreport C\nprint C.seconds\n')
    secs, reports = run_moe(args.moe, script, tmp, "density-4096", args.repeats)
    return {"workload": "boundary_density, linear router d=4096, K=256, normal law, 2 threads",
            "seconds": secs, "value": reports[0]["value"], "stderr": reports[0]["stderr"],
            "path": reports[0]["path"]}


def vm_script(P, N, threads, expression):
    """The same affine logits as a linear router, either as linear(W, b) or as
    an expression router written out logit by logit (so the block VM runs
    them), over a uniform law (x-space Monte Carlo either way)."""
    K, d = len(P["W"]), len(P["W"][0])
    head = f"""set threads = {threads}
set seed = 12345
law U = uniform(lo = -1, hi = 1, dim = {d})
let W = {fmt_mat(P['W'])}
let b = {fmt_list(P['b'])}
"""
    if expression:
        logits = ", ".join(f"dot(W[{k}], x) + b[{k}]" for k in range(K))
        head += f"router r(x) = [{logits}]\n"
    else:
        head += "router r = linear(W = W, b = b)\n"
    return head + f"""let res = boundary_mass(r, U, w = {fmt_list(P['widths'])}, method = "mc", samples = {N})
report res
print res.seconds
"""


def bench_vm(args, tmp, N):
    P = peer_params(args.peer, "w1", 8, 4, tmp)
    lin, _ = run_moe(args.moe, vm_script(P, N, 2, False), tmp, "vm-linear", args.repeats)
    expr, _ = run_moe(args.moe, vm_script(P, N, 2, True), tmp, "vm-expr", args.repeats)
    return {"workload": f"VM dispatch: boundary mass, uniform law d=8, K=4, N={N:.0e}, 2 threads",
            "linear_samples_per_s": N / lin, "expression_samples_per_s": N / expr,
            "ratio": lin / expr}


def bench_load(args, tmp):
    """load() of router weights the size of a real model's (K = 256, d = 4096)
    from .npy and from CSV; the time is the script's minus an empty script's."""
    import numpy as np  # only here: the rest of the driver needs no numpy
    W = np.random.default_rng(1).standard_normal((256, 4096))
    npy, csv = os.path.join(tmp, "W.npy"), os.path.join(tmp, "W.csv")
    np.save(npy, W)
    np.savetxt(csv, W, delimiter=",", fmt="%.17g")

    def best(script):
        path = os.path.join(tmp, "load.moe")
        with open(path, "w") as f:
            f.write(script)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run([args.moe, path], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        return min(times)
    empty = best("let a = 1\n")
    return {"workload": "load() of a 256x4096 matrix", "npy_seconds": best(f'let W = load("{npy}")\n') - empty,
            "csv_seconds": best(f'let W = load("{csv}")\n') - empty}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moe", default="./moe")
    ap.add_argument("--peer", default=os.path.join(HERE, "..", "..", "shared", "peer", "peer_numpy.py"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10x fewer samples")
    ap.add_argument("--only", default="", help="comma-separated workload tags")
    args = ap.parse_args()
    if not os.path.exists(args.peer):
        sys.exit(f"bench: the peer is not at {args.peer} (expected ../shared beside the checkout)")
    scale = 10 if args.quick else 1
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("w1-small", lambda: bench_w1(args, tmp, 8, 4, 10_000_000 // scale)),
                ("w1-large", lambda: bench_w1(args, tmp, 64, 16, 2_000_000 // scale)),
                ("w2", lambda: bench_w2(args, tmp, 64, 16, 2_000_000 // scale)),
                ("vm", lambda: bench_vm(args, tmp, 10_000_000 // scale)),
                ("load", lambda: bench_load(args, tmp)),
                ("accuracy", lambda: bench_accuracy(args, tmp, 256, 8, 2_000_000 // scale,
                                                    200_000 // scale)),
                ("density", lambda: bench_density(args, tmp)),
                ("train", lambda: bench_train(args, tmp, 64, 8, 8192, 100 // scale))]
        for tag, fn in plan:
            if args.only and tag not in args.only.split(","):
                continue
            t0 = time.time()
            r = fn()
            r["tag"] = tag
            results.append(r)
            print(f"# {tag} done in {time.time() - t0:.1f} s", file=sys.stderr)
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    peer_rows = [r for r in results if "peer_samples_per_s" in r and "agreement_z" in r]
    if peer_rows:
        print("| workload | moe samples/s | peer samples/s | ratio | estimates agree (max z) |")
        print("|---|---|---|---|---|")
        for r in peer_rows:
            print(f"| {r['workload']} | {r['moe_samples_per_s']:.3g} | {r['peer_samples_per_s']:.3g} "
                  f"| **{r['ratio']:.1f}x** | {r['agreement_z']:.2f} |")
    for r in results:
        if "moe_seconds_needed" in r:
            print(f"\n{r['workload']}: moe {r['moe_seconds_needed']:.3g} s ({r['moe_path'][:40]}...), "
                  f"NumPy peer {r['peer_seconds_needed']:.3g} s: **{r['ratio']:.0f}x** "
                  f"(estimates agree: z = {r['agreement_z']:.2f})")
        if "value" in r and "seconds" in r:
            print(f"\n{r['workload']}: {r['seconds']:.3f} s, C = {r['value']:.5g} "
                  f"± {r['stderr']:.2g} ({r['path'][:60]}...)")
        if "npy_seconds" in r:
            print(f"\nload() of a 256x4096 matrix: .npy {r['npy_seconds'] * 1e3:.1f} ms, "
                  f"CSV {r['csv_seconds'] * 1e3:.0f} ms")
    for r in results:
        if "moe_steps_per_s" in r:
            peer = (f"{r['peer_steps_per_s']:.3g} steps/s" if "peer_steps_per_s" in r
                    else f"{r['peer_samples_per_s']:.3g} samples/s")
            print(f"\n{r['workload']}: moe {r['moe_steps_per_s']:.3g} steps/s "
                  f"({r['moe_samples_per_s']:.3g} samples/s; 1 thread {r['moe_steps_per_s_1']:.3g}, "
                  f"2 threads {r['moe_steps_per_s_2']:.3g}); {r['peer']}: {peer}: "
                  f"**{r['ratio']:.2f}x**")
            if "ratio_1_thread" in r:
                print(f"  PyTorch 1 thread {r['peer_steps_per_s_1']:.3g}, 2 threads "
                      f"{r['peer_steps_per_s_2']:.3g} steps/s; one thread each: "
                      f"**{r['ratio_1_thread']:.2f}x**")
    vm_rows = [r for r in results if "expression_samples_per_s" in r]
    if vm_rows:
        print()
        print("| workload | linear router samples/s | expression router samples/s | expression / linear |")
        print("|---|---|---|---|")
        for r in vm_rows:
            print(f"| {r['workload']} | {r['linear_samples_per_s']:.3g} | "
                  f"{r['expression_samples_per_s']:.3g} | **{100 * r['ratio']:.0f} %** |")


if __name__ == "__main__":
    main()
