#!/usr/bin/python3
"""The training step of `make bench`'s train workload, in PyTorch (CPU, float64).

The same step as moe's `train`: draw a fresh batch X ~ N(0, I_d), evaluate a
hard-routed teacher (linear router, affine experts) for the target, the
student's softmax mixture at temperature tau, the mean squared error, its
gradient by autograd and one Adam update of the student's router (W, b) and
experts (beta, c).  The problem instance is read from a JSON file that
bench/run.py also turns into the .moe script, so both sides train the same
model on the same teacher.  Prints one JSON line: steps, seconds (steady
state, after warm-up steps), steps_per_s.
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("params", help="JSON with d, K, Wt, bt, Bt, ct, W, b, B, c")
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--tau", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.params) as f:
        P = json.load(f)
    f64 = torch.float64
    t = {k: torch.tensor(P[k], dtype=f64) for k in ("Wt", "bt", "Bt", "ct")}
    s = {k: torch.tensor(P[k], dtype=f64, requires_grad=True) for k in ("W", "b", "B", "c")}
    opt = torch.optim.Adam(list(s.values()), lr=args.lr)
    gen = torch.Generator().manual_seed(1)
    d = P["d"]

    def step():
        X = torch.randn(args.batch, d, generator=gen, dtype=f64)
        with torch.no_grad():
            kt = torch.addmm(t["bt"], X, t["Wt"].T).argmax(dim=1, keepdim=True)
            m = torch.addmm(t["ct"], X, t["Bt"].T).gather(1, kt).squeeze(1)
        g = torch.softmax(torch.addmm(s["b"], X, s["W"].T) / args.tau, dim=1)
        F = (g * torch.addmm(s["c"], X, s["B"].T)).sum(dim=1)
        loss = ((F - m) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    secs = time.perf_counter() - t0
    print(json.dumps({"steps": args.steps, "seconds": secs, "steps_per_s": args.steps / secs,
                      "loss": float(loss), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
