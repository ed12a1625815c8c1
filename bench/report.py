#!/usr/bin/env python3
"""Turns the raw per-run JSON files of bench/run into the Markdown results table.

Each cell's per-call times from all rounds are pooled before the median is taken, so interleaved rounds count
as one measurement; peak RSS is the largest any round's process reached.
"""
import argparse
import glob
import json
import os
import statistics

from benchlib import load_result

ENGINES = ("tweedie", "pytorch", "ort")


def pooled(runs):
    """(median ms, max peak RSS MB, status, result of the first run) over one engine's rounds of one cell."""
    ok = [r for r in runs if r.get("status", "ok") == "ok" and "times_ms" in r]
    if not ok:
        bad = [r for r in runs if r.get("status") == "error"]
        return None, None, ("error" if bad else "n/a"), (bad or runs or [{}])[0]
    times = [t for r in ok for t in r["times_ms"]]
    return statistics.median(times), max(r["peak_rss_mb"] for r in ok), "ok", ok[0]


def busy_warning(meta):
    """A warning line when other work shared the CPUs: the 1-minute load average at the end of the timing phase
    counts the benchmark's own threads, so more than that (plus one for slack) means someone else was running."""
    try:
        load = float(meta["load_after"].split()[0])
        threads = int(meta["threads"])
    except (KeyError, ValueError, IndexError):
        return None
    if load <= threads + 1:
        return None
    return (f"**Warning: the machine was busy (1-minute load average {load:.1f} at the end, on {threads} benchmark "
            f"threads): other processes shared the CPUs and the times are noisy.**")


def fmt(v, digits=1, missing="n/a"):
    return missing if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("raw", help="folder of <model>-b<batch>-<engine>-r<round>.json files plus sgemm.json/meta.json")
    args = ap.parse_args()

    meta = load_result(os.path.join(args.raw, "meta.json"))
    sg = load_result(os.path.join(args.raw, "sgemm-tweedie.json"))
    ref = load_result(os.path.join(args.raw, "sgemm-ref.json"))
    cells = {}
    for path in sorted(glob.glob(os.path.join(args.raw, "cell~*.json"))):
        _, model, batch, engine, _ = os.path.basename(path)[:-5].split("~")
        cells.setdefault((model, int(batch)), {e: [] for e in ENGINES})[engine].append(load_result(path))

    core = sg.get("openblas_core") or meta.get("openblas_core", "?")
    cpu = sg.get("cpu_model") or meta.get("cpu_model", "?")
    lines = [
        f"CPU {cpu}, {meta.get('threads', '?')} threads, OpenBLAS core {core}; "
        f"SGEMM {sg.get('sgemm_n', 1024)}^3 GFLOP/s: Tweedie {fmt(sg.get('gflops'))}, "
        f"numpy {fmt(ref.get('numpy_gflops'))}, PyTorch {fmt(ref.get('torch_gflops'))}",
    ]
    busy = busy_warning(meta)
    if busy:
        lines.append(busy)
    lines += [
        "",
        "| model | batch | Tweedie ms | PyTorch ms | ORT ms | Tweedie GFLOP/s | peak RSS MB (Tweedie / PyTorch / ORT)"
        " | Tweedie/PyTorch | Tweedie/ORT |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes, failures = [], []
    order = {m: i for i, m in enumerate(meta.get("models", []))}
    for (model, batch), runs in sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        stats = {e: pooled(runs[e]) for e in ENGINES}
        t_ms, t_rss, t_status, t_first = stats["tweedie"]
        gflops = t_first["gflop_per_call"] / t_ms * 1e3 if t_ms and "gflop_per_call" in t_first else None
        for e in ENGINES:
            if stats[e][2] == "error":
                failures.append(f"{model} b{batch} {e}: {stats[e][3].get('reason', 'failed')}")

        def ms(e):
            v, _, status, _ = stats[e]
            return fmt(v) if v is not None else status

        def ratio(peer):
            p = stats[peer][0]
            return f"{t_ms / p:.2f}x" if t_ms and p else "n/a"

        rss = " / ".join(fmt(stats[e][1], 0, stats[e][2]) for e in ENGINES)
        lines.append(f"| {model} | {batch} | {ms('tweedie')} | {ms('pytorch')} | {ms('ort')} | {fmt(gflops)} | {rss} "
                     f"| {ratio('pytorch')} | {ratio('ort')} |")
        if t_status == "ok":
            iters = sum(len(r.get("times_ms", [])) for r in runs["tweedie"])
            fastest = " / ".join(fmt(min((t for r in runs[e] for t in r.get("times_ms", [])), default=None))
                                 for e in ENGINES)
            notes.append(f"{model} ({t_first.get('class_name', '?')}, {t_first.get('parameters', 0) / 1e6:.2f}M "
                         f"parameters) batch {batch}: {t_first.get('gflop_per_call', 0):.2f} GEMM GFLOP per call, "
                         f"{iters} timed calls per engine over {len(runs['tweedie'])} interleaved rounds; "
                         f"fastest call ms (Tweedie / PyTorch / ORT) {fastest}")
    lines.append("")
    lines += [f"- {n}" for n in notes]
    extra = [f"{k} {meta[k]}" for k in ("torch", "onnxruntime", "diffusers", "date", "load_before", "load_after")
             if meta.get(k)]
    if extra:
        lines.append("- " + "; ".join(extra))
    lines += [f"- failed: {f}" for f in failures]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
