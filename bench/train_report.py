#!/usr/bin/env python3
"""Turns the raw per-run JSON files of bench/train into the Markdown table of training-step times.

A cell is (threads, gradient checkpointing). Per engine, the timed steps of all rounds are pooled before the
median is taken; Tweedie's first `warmup` steps of every run (from meta.json) are dropped, PyTorch's runs report
only timed steps. ms/step is the step without its data phase (forward + backward + optimizer), since the two
engines prepare different data; samples/s is batch / that median. Peak RSS is the largest any round reached.
"""
import argparse
import glob
import json
import os
import statistics

from benchlib import load_result

ENGINES = ("tweedie", "pytorch")
PHASES = ("data", "forward", "backward", "optimizer")


def pooled(runs, drop):
    """Per-step lists (compute ms, cpu ms, phase ms) over one engine's rounds, the max peak RSS and a status."""
    ok = [r for r in runs if r.get("status", "ok") == "ok" and "times_ms" in r]
    if not ok:
        bad = [r for r in runs if r.get("status") == "error"]
        return None, ("error" if bad else "n/a"), (bad or runs or [{}])[0]
    steps = {"compute": [], "cpu": [], **{p: [] for p in PHASES}}
    for r in ok:
        ph = r["phase_ms"]
        n = len(r["times_ms"])
        for i in range(drop, n):
            for p in PHASES:
                steps[p].append(ph[p][i])
            steps["compute"].append(sum(ph[p][i] for p in PHASES[1:]))
            steps["cpu"].append(r["cpu_ms"][i])
    if not steps["compute"]:
        return None, "error", {"reason": "no steps after the warm-up"}
    out = {k: statistics.median(v) for k, v in steps.items()}
    out.update(count=len(steps["compute"]), fastest=min(steps["compute"]), batch=ok[0]["batch"],
               rss=max(r["peak_rss_mb"] for r in ok), parameters=ok[0].get("parameters"))
    return out, "ok", ok[0]


def fmt(v, digits=1, missing="n/a"):
    return missing if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("raw", help="folder of cell~<threads>~<gc>~<engine>~r<round>.json files plus meta.json")
    args = ap.parse_args()
    meta = load_result(os.path.join(args.raw, "meta.json"))
    warmup = meta.get("warmup", 0)
    cells = {}
    for path in sorted(glob.glob(os.path.join(args.raw, "cell~*.json"))):
        _, threads, gc, engine, _ = os.path.basename(path)[:-5].split("~")
        cells.setdefault((int(threads), int(gc)), {e: [] for e in ENGINES})[engine].append(load_result(path))

    lines = [f"Training step, recipe `{os.path.relpath(meta.get('recipe', '?'))}`, CPU {meta.get('cpu_model', '?')}, "
             f"{meta.get('date', '?')}", ""]
    try:
        load_after = float(meta["load_after"].split()[0])
        top = max(t for t, _ in cells) if cells else 1
        if load_after > top + 1:
            lines += [f"**Warning: the machine was busy (1-minute load average {load_after:.1f} at the end, on at "
                      f"most {top} benchmark threads): wall times are noisy; the CPU columns (process CPU time per "
                      f"step) are steadier, at 1 thread especially.**", ""]
    except (KeyError, ValueError, IndexError):
        pass
    lines += [
        "| threads | grad ckpt | batch | Tweedie ms/step | PyTorch ms/step | Tweedie/PyTorch | samples/s (Tweedie / PyTorch)"
        " | CPU ms/step (Tweedie / PyTorch) | CPU ratio | peak RSS MB (Tweedie / PyTorch) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes, phase_lines, failures = [], [], []
    for (threads, gc), runs in sorted(cells.items()):
        res = {}
        for e in ENGINES:
            r, status, first = pooled(runs[e], warmup if e == "tweedie" else 0)
            res[e] = r
            if status == "error":
                failures.append(f"- failed: threads {threads} checkpointing {gc} {e}: {first.get('reason', '?')}")
        t, p = res["tweedie"], res["pytorch"]
        batch = (t or p or {}).get("batch", "?")
        sps = lambda r: None if r is None else r["batch"] / r["compute"] * 1000
        lines.append(
            f"| {threads} | {'yes' if gc else 'no'} | {batch} | {fmt(t and t['compute'])} | {fmt(p and p['compute'])} | "
            f"{ratio(t and t['compute'], p and p['compute'])} | {fmt(sps(t))} / {fmt(sps(p))} | "
            f"{fmt(t and t['cpu'], 0)} / {fmt(p and p['cpu'], 0)} | {ratio(t and t['cpu'], p and p['cpu'])} | "
            f"{fmt(t and t['rss'], 0)} / {fmt(p and p['rss'], 0)} |")
        for e, r in (("Tweedie", t), ("PyTorch", p)):
            if r:
                phase_lines.append(
                    f"| {threads} | {'yes' if gc else 'no'} | {e} | " + " | ".join(fmt(r[ph]) for ph in PHASES)
                    + f" | {r['count']} | {fmt(r['fastest'])} |")
    lines += ["", "Median phase times (ms) of the same steps; ms/step above is forward + backward + optimizer:", "",
              "| threads | grad ckpt | engine | data | forward | backward | optimizer | timed steps | fastest step |",
              "|---:|---|---|---:|---:|---:|---:|---:|---:|"] + phase_lines
    params = next((r.get("parameters") for rs in cells.values() for r in rs["tweedie"] + rs["pytorch"]
                   if r.get("parameters")), None)
    notes.append(f"- parameters: {params:,}" if params else "- parameters: ?")
    notes.append(f"- warm-up steps per process: {warmup}; timed steps per process: {meta.get('steps', '?')}; "
                 f"rounds: {meta.get('rounds', '?')} (engine order alternating)")
    notes.append(f"- torch {meta.get('torch', '?')}, diffusers {meta.get('diffusers', '?')}")
    notes.append(f"- load average before {meta.get('load_before', '?')}, after {meta.get('load_after', '?')}")
    print("\n".join(lines + [""] + notes + failures))


if __name__ == "__main__":
    main()
