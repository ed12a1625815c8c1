"""Stored results behind the published numbers, and the renderers that turn them into the published text.

Every result file under bench/results/ is one JSON object:

    {"result": NAME, "date": ISO-8601 UTC, "command": the exact command line that produced it,
     "machine": {"cpu_model", "cores", "openblas_core", "openblas_config"},
     "versions": {"tweedie", "tweedie_commit", "swift", "python", and torch / diffusers / onnxruntime where used},
     "load": {"before", "after"}  (the 1/5/15-minute load averages, `uptime`),
     "data": {...the measurements...}}

The bench scripts write them with `write_result`; `scripts/check-claims` re-renders every marked section of
README.md, bench/README.md and the model cards from them with the functions in RENDER_BLOCKS and RENDER_INLINE,
the same functions the bench reports print their tables with, and fails when the text differs.
"""
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


# --- metadata ------------------------------------------------------------------------------------------------------

def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def _run(cmd, env=None):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        return p.stdout if p.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine(tweedie=None):
    """CPU model, cores and the OpenBLAS kernel `tweedie info --system` reports (the one tweedie runs)."""
    out = {"cpu_model": cpu_model(), "cores": os.cpu_count()}
    if tweedie:
        for line in _run([tweedie, "info", "--system"]).splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "openblas core":
                out["openblas_core"] = value.strip()
            elif key.strip() == "openblas config":
                out["openblas_config"] = value.strip()
            elif key.strip() == "cpu flags":
                out["cpu_flags"] = value.strip()
    if os.environ.get("OPENBLAS_CORETYPE"):
        out["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    return out


def engine_version():
    try:
        text = open(os.path.join(ROOT, "Sources", "TweediePipeline", "EngineVersion.swift")).read()
        return re.search(r'number\s*=\s*"([^"]+)"', text).group(1)
    except (OSError, AttributeError):
        return "?"


def engine_commit():
    """TWEEDIE_COMMIT when the binary was built from a snapshot (bench/build-clean sets it), else HEAD, with
    '-dirty' when the engine's sources in the working tree differ from it."""
    if os.environ.get("TWEEDIE_COMMIT"):
        return os.environ["TWEEDIE_COMMIT"]
    snapshot = os.path.join(ROOT, ".snapshot-commit")  # a tree bench/build-clean unpacked
    if os.path.isfile(snapshot):
        return open(snapshot).read().strip()
    stamp = os.path.join(os.path.dirname(os.environ.get("TWEEDIE_BIN", "")), "tweedie.commit")
    if os.environ.get("TWEEDIE_BIN") and os.path.isfile(stamp):
        return open(stamp).read().strip()
    head = _run(["git", "-C", ROOT, "rev-parse", "HEAD"]).strip() or "?"
    dirty = _run(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources", "Samplers", "Package.swift"]).strip()
    return head + ("-dirty" if dirty else "")


def versions(packages=()):
    out = {"tweedie": engine_version(), "tweedie_commit": engine_commit(),
           "python": platform.python_version()}
    swift = _run(["swift", "--version"]).strip().splitlines()
    m = re.search(r"Swift version (\S+)", swift[0]) if swift else None
    out["swift"] = m.group(1) if m else "?"
    for name in packages:
        try:
            out[name] = __import__(name).__version__
        except Exception:
            out[name] = None
    return out


def command_line(argv=None):
    """The command as typed from the repository root (absolute paths inside it made relative)."""
    parts = []
    for a in (argv if argv is not None else sys.argv):
        if os.path.isabs(a) and a.startswith(ROOT + os.sep):
            a = os.path.relpath(a, ROOT)
        parts.append(shlex.quote(a))
    return " ".join(parts)


def write_result(name, data, command, tweedie=None, packages=(), load_before=None, load_after=None, date=None):
    """Writes bench/results/NAME.json (sorted keys, two-space indent, trailing newline) and returns its path."""
    command = command.replace(ROOT + os.sep, "")  # paths inside the repository, as typed from its root
    result = {
        "result": name,
        "date": date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "machine": machine(tweedie),
        "versions": versions(packages),
        "load": {"before": load_before, "after": load_after if load_after is not None else loadavg()},
        "data": data,
    }
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name + ".json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def read_result(name):
    with open(os.path.join(RESULTS, name + ".json")) as f:
        return json.load(f)


# --- small formatting helpers ---------------------------------------------------------------------------------------

def fmt(v, digits=1, missing="n/a"):
    return missing if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def sci(v, digits=1):
    """1.8e-04 -> '1.8e-4'."""
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    m, e = f"{v:.{digits}e}".split("e")
    return f"{m}e{int(e)}"


def thousands(n):
    return f"{n:,}"


def day(result):
    return result["date"][:10]


def load_pair(result):
    load = result.get("load", {})
    first = lambda s: (s or "?").split()[0]
    return f"load average {first(load.get('before'))} before and {first(load.get('after'))} after"


def busy(result, threads):
    """True when the 1-minute load at the end exceeds the benchmark's threads plus one: others shared the CPUs."""
    try:
        return float(result["load"]["after"].split()[0]) > threads + 1
    except (KeyError, ValueError, IndexError, AttributeError):
        return False


# --- bench/run: one denoiser call ------------------------------------------------------------------------------------

ENGINES = ("tweedie", "pytorch", "ort")


def _pooled(runs):
    ok = [r for r in runs if r.get("status", "ok") == "ok" and "times_ms" in r]
    if not ok:
        bad = [r for r in runs if r.get("status") == "error"]
        return None, None, ("error" if bad else "n/a"), (bad or runs or [{}])[0]
    times = [t for r in ok for t in r["times_ms"]]
    return statistics.median(times), max(r["peak_rss_mb"] for r in ok), "ok", ok[0]


def perf_cells(result):
    """{(model, batch): {engine: [run, ...]}} in the run's model order."""
    cells = {}
    for run in result["data"]["runs"]:
        key = (run["model"], run["batch"])
        cells.setdefault(key, {e: [] for e in ENGINES})[run["engine"]].append(run["result"])
    order = {m: i for i, m in enumerate(result["data"].get("models", []))}
    return dict(sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])))


def perf_stats(result):
    """Per cell: median ms, peak RSS, status per engine, Tweedie's GEMM GFLOP/s and the ratios (as numbers)."""
    rows = []
    for (model, batch), runs in perf_cells(result).items():
        stats = {e: _pooled(runs[e]) for e in ENGINES}
        t_ms, first = stats["tweedie"][0], stats["tweedie"][3]
        gflops = first["gflop_per_call"] / t_ms * 1e3 if t_ms and "gflop_per_call" in first else None
        rows.append({"model": model, "batch": batch, "stats": stats, "runs": runs, "gflops": gflops,
                     "vs_pytorch": t_ms / stats["pytorch"][0] if t_ms and stats["pytorch"][0] else None,
                     "vs_ort": t_ms / stats["ort"][0] if t_ms and stats["ort"][0] else None})
    return rows


def render_perf(result):
    d, m = result["data"], result["machine"]
    sg, ref = d.get("sgemm_tweedie", {}), d.get("sgemm_ref", {})
    threads = d["threads"]
    lines = [f"CPU {m.get('cpu_model', '?')}, {threads} threads, OpenBLAS core {m.get('openblas_core', '?')}; "
             f"SGEMM {sg.get('sgemm_n', 1024)}^3 GFLOP/s: Tweedie {fmt(sg.get('gflops'))}, "
             f"numpy {fmt(ref.get('numpy_gflops'))}, PyTorch {fmt(ref.get('torch_gflops'))}"]
    if busy(result, threads):
        lines.append(f"**Warning: the machine was busy (1-minute load average {result['load']['after'].split()[0]} at "
                     f"the end, on {threads} benchmark threads): other processes shared the CPUs and the times are "
                     f"noisy.**")
    lines += ["",
              "| model | batch | Tweedie ms | PyTorch ms | ORT ms | Tweedie GFLOP/s | peak RSS MB (Tweedie / PyTorch / ORT)"
              " | Tweedie/PyTorch | Tweedie/ORT |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes, failures = [], []
    for row in perf_stats(result):
        stats, runs = row["stats"], row["runs"]
        for e in ENGINES:
            if stats[e][2] == "error":
                failures.append(f"{row['model']} b{row['batch']} {e}: {stats[e][3].get('reason', 'failed')}")
        ms = lambda e: fmt(stats[e][0]) if stats[e][0] is not None else stats[e][2]
        rss = " / ".join(fmt(stats[e][1], 0, stats[e][2]) for e in ENGINES)
        lines.append(f"| {row['model']} | {row['batch']} | {ms('tweedie')} | {ms('pytorch')} | {ms('ort')} | "
                     f"{fmt(row['gflops'])} | {rss} | {ratio(stats['tweedie'][0], stats['pytorch'][0])} | "
                     f"{ratio(stats['tweedie'][0], stats['ort'][0])} |")
        first = stats["tweedie"][3]
        if stats["tweedie"][2] == "ok":
            iters = sum(len(r.get("times_ms", [])) for r in runs["tweedie"])
            fastest = " / ".join(fmt(min((t for r in runs[e] for t in r.get("times_ms", [])), default=None))
                                 for e in ENGINES)
            notes.append(f"{row['model']} ({first.get('class_name', '?')}, {first.get('parameters', 0) / 1e6:.2f}M "
                         f"parameters) batch {row['batch']}: {first.get('gflop_per_call', 0):.2f} GEMM GFLOP per "
                         f"call, {iters} timed calls per engine over {len(runs['tweedie'])} interleaved rounds; "
                         f"fastest call ms (Tweedie / PyTorch / ORT) {fastest}")
    v = result["versions"]
    lines.append("")
    lines += [f"- {n}" for n in notes]
    lines.append(f"- {day(result)}; tweedie {v.get('tweedie')} ({(v.get('tweedie_commit') or '?')[:12]}), "
                 f"torch {v.get('torch') or 'n/a'}, onnxruntime {v.get('onnxruntime') or 'n/a'}, "
                 f"diffusers {v.get('diffusers') or 'n/a'}; {load_pair(result)} the timing phase")
    lines += [f"- failed: {f}" for f in failures]
    return "\n".join(lines)


# --- bench/train: training steps ---------------------------------------------------------------------------------------

PHASES = ("data", "forward", "backward", "optimizer")


def _train_pooled(runs, drop):
    ok = [r for r in runs if r.get("status", "ok") == "ok" and "times_ms" in r]
    if not ok:
        bad = [r for r in runs if r.get("status") == "error"]
        return None, ("error" if bad else "n/a"), (bad or runs or [{}])[0]
    steps = {"compute": [], "cpu": [], **{p: [] for p in PHASES}}
    for r in ok:
        ph = r["phase_ms"]
        for i in range(drop, len(r["times_ms"])):
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


def train_stats(result):
    """[(threads, gc, {engine: pooled or None}, failures)] in (threads, gc) order."""
    d = result["data"]
    cells = {}
    for run in d["runs"]:
        cells.setdefault((run["threads"], run["checkpointing"]), {"tweedie": [], "pytorch": []})[
            run["engine"]].append(run["result"])
    out = []
    for (threads, gc), runs in sorted(cells.items()):
        res, failures = {}, []
        for e in ("tweedie", "pytorch"):
            r, status, first = _train_pooled(runs[e], d["warmup"] if e == "tweedie" else 0)
            res[e] = r
            if status == "error":
                failures.append(f"threads {threads} checkpointing {gc} {e}: {first.get('reason', '?')}")
        out.append((threads, gc, res, failures))
    return out


def render_train(result):
    d = result["data"]
    cells = train_stats(result)
    top = max((t for t, *_ in cells), default=1)
    lines = []
    if busy(result, top):
        lines += [f"**Warning: the machine was busy (1-minute load average {result['load']['after'].split()[0]} at the "
                  f"end, on at most {top} benchmark threads): wall times are noisy; the CPU columns (process CPU "
                  f"time per step) are steadier, at 1 thread especially.**", ""]
    lines += ["| threads | grad ckpt | batch | Tweedie ms/step | PyTorch ms/step | Tweedie/PyTorch | samples/s "
              "(Tweedie / PyTorch) | CPU ms/step (Tweedie / PyTorch) | CPU ratio | peak RSS MB (Tweedie / PyTorch) |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    phase_lines, failures = [], []
    sps = lambda r: None if r is None else r["batch"] / r["compute"] * 1000
    for threads, gc, res, fails in cells:
        failures += fails
        t, p = res["tweedie"], res["pytorch"]
        batch = (t or p or {}).get("batch", "?")
        lines.append(
            f"| {threads} | {'yes' if gc else 'no'} | {batch} | {fmt(t and t['compute'])} | {fmt(p and p['compute'])} "
            f"| {ratio(t and t['compute'], p and p['compute'])} | {fmt(sps(t))} / {fmt(sps(p))} | "
            f"{fmt(t and t['cpu'], 0)} / {fmt(p and p['cpu'], 0)} | {ratio(t and t['cpu'], p and p['cpu'])} | "
            f"{fmt(t and t['rss'], 0)} / {fmt(p and p['rss'], 0)} |")
        for name, r in (("Tweedie", t), ("PyTorch", p)):
            if r:
                phase_lines.append(f"| {threads} | {'yes' if gc else 'no'} | {name} | "
                                   + " | ".join(fmt(r[ph]) for ph in PHASES) + f" | {r['count']} | {fmt(r['fastest'])} |")
    lines += ["", "Median phase times (ms) of the same steps; ms/step above is forward + backward + optimizer:", "",
              "| threads | grad ckpt | engine | data | forward | backward | optimizer | timed steps | fastest step |",
              "|---:|---|---|---:|---:|---:|---:|---:|---:|"] + phase_lines
    params = next((r["parameters"] for _, _, res, _ in cells for r in res.values() if r and r.get("parameters")), None)
    v = result["versions"]
    lines += ["",
              f"- recipe `{d['recipe']}`, {thousands(params) if params else '?'} parameters; CPU "
              f"{result['machine'].get('cpu_model', '?')}, OpenBLAS core {result['machine'].get('openblas_core', '?')}",
              f"- warm-up steps per process: {d['warmup']}; timed steps per process: {d['steps']}; rounds: "
              f"{d['rounds']} (engine order alternating)",
              f"- {day(result)}; tweedie {v.get('tweedie')} ({(v.get('tweedie_commit') or '?')[:12]}), torch "
              f"{v.get('torch') or 'n/a'}, diffusers {v.get('diffusers') or 'n/a'}; {load_pair(result)} the timing"]
    lines += [f"- failed: {f}" for f in failures]
    return "\n".join(lines)


# --- bench/guidance ------------------------------------------------------------------------------------------------

GUIDANCE_METHODS = [("cfg", "CFG"), ("rescale", "CFG + rescale"), ("apg", "APG")]


def guidance_cell_name(method, w):
    return f"all_w{w}" if abs(float(w) - 1) < 1e-6 else f"{method}_w{w}"


def guidance_rows(result):
    """[(w, label, cell)] in table order; each cell {n, saturation, saturation_se, clipped, correct, ...}."""
    d = result["data"]
    rows, seen = [], set()
    for w in d["scales"]:
        for method, title in GUIDANCE_METHODS:
            name = guidance_cell_name(method, w)
            if name not in d["cells"] or name in seen:
                continue
            seen.add(name)
            rows.append((w, "all (conditional only)" if name.startswith("all_") else title, d["cells"][name]))
    return rows


def pct(a, b, digits=0):
    return f"{100 * a / b:.{digits}f} %"


def render_guidance(result):
    lines = ["| w | method | saturation | clipped | judge accuracy |", "|---:|---|---:|---:|---:|"]
    for w, label, c in guidance_rows(result):
        lines.append(f"| {w} | {label} | {c['saturation']:.3f} ± {c['saturation_se']:.3f} | "
                     f"{100 * c['clipped']:.1f} % | {c['correct']}/{c['n']} ({pct(c['correct'], c['n'])}) |")
    d = result["data"]
    cpu = f", {d['cpu_seconds'] / 60:.1f} min CPU" if d.get("cpu_seconds") else " (CPU time not recorded)"
    lines += ["", f"{d['settings']}. Run time {d['seconds'] // 60} min {d['seconds'] % 60} s wall{cpu}; "
                  f"{day(result)}, {load_pair(result)}."]
    return "\n".join(lines)


def guidance_cell(result, method, w):
    return result["data"]["cells"][guidance_cell_name(method, w)]


# --- APG norm-threshold sweep (bench/guidance --methods apg over several r) ---------------------------------------

def render_apg_sweep(result):
    d = result["data"]
    scales = d["scales"]
    lines = ["| r | " + " | ".join(f"w {w}: judge accuracy | w {w}: saturation | w {w}: clipped" for w in scales) + " |",
             "|---:|" + "---:|---:|---:|" * len(scales)]
    for r in d["thresholds"]:
        cells = d["runs"][str(r)]
        parts = []
        for w in scales:
            c = cells[f"apg_w{w}"]
            parts += [f"{c['correct']}/{c['n']} ({pct(c['correct'], c['n'])})", f"{c['saturation']:.3f}",
                      f"{100 * c['clipped']:.1f} %"]
        lines.append(f"| {r} | " + " | ".join(parts) + " |")
    lines += ["", f"{d['settings']}; {day(result)}."]
    return "\n".join(lines)


# --- scripts/apg_update_norms.py -------------------------------------------------------------------------------------

def render_apg_norms(result):
    d = result["data"]
    lines = ["| step | sigma | median ‖ΔD‖ | max | median after momentum | max |", "|---:|---:|---:|---:|---:|---:|"]
    for s in d["steps"]:
        lines.append(f"| {s['step']} | {s['sigma']:.3f} | {s['diff_median']:.2f} | {s['diff_max']:.2f} | "
                     f"{s['momentum_median']:.2f} | {s['momentum_max']:.2f} |")
    return "\n".join(lines)


def apg_capped_steps(result, threshold):
    """Steps whose median momentum-averaged update exceeds `threshold`, and the smallest sigma among them."""
    steps = [s for s in result["data"]["steps"] if s["momentum_median"] > threshold]
    return len(steps), min((s["sigma"] for s in steps), default=None)


# --- judge accuracy: generate + classify ---------------------------------------------------------------------------

def render_judge(result):
    d = result["data"]
    names = d["labels"]
    head = "| class | " + " | ".join(names) + " | all |"
    sep = "|---|" + "---:|" * (len(names) + 1)
    cells = [f"{c['correct']}/{c['n']}" for c in d["classes"]]
    total, n = judge_total(result)
    row = f"| classified as its class | " + " | ".join(cells) + f" | **{total}/{n} ({judge_pct(result)})** |"
    return "\n".join([head, sep, row])


def judge_total(result):
    cs = result["data"]["classes"]
    return sum(c["correct"] for c in cs), sum(c["n"] for c in cs)


def judge_pct(result, digits=1):
    total, n = judge_total(result)
    return pct(total, n, digits)


# --- tweedie evaluate ---------------------------------------------------------------------------------------------

EVAL_TITLES = {"colin27-heldout": "Colin27 held-out slices", "shepp-logan": "Shepp-Logan",
               "ellipses": "unseen ellipses"}


def render_evaluate(result):
    lines = ["| images | σ | noisy PSNR dB | denoised PSNR dB | denoised SSIM |", "|---|---:|---:|---:|---:|"]
    for block in result["data"]["sets"]:
        title = f"{EVAL_TITLES.get(block['images'], block['images'])} ({block['count']}"
        title += f", seed {block['image_seed']})" if block.get("image_seed") is not None else ")"
        for i, r in enumerate(block["results"]):
            lines.append(f"|{' ' + title + ' ' if i == 0 else ' '}| {r['sigma']:g} | {r['noisy_psnr']:.2f} | "
                         f"{r['denoised_psnr']:.2f} | {r['denoised_ssim']:.3f} |")
    return "\n".join(lines)


def evaluate_row(result, images, sigma):
    block = next(b for b in result["data"]["sets"] if b["images"] == images)
    return next(r for r in block["results"] if abs(r["sigma"] - sigma) < 1e-9)


def evaluate_gain(result, images, sigma):
    r = evaluate_row(result, images, sigma)
    return f"{r['denoised_psnr'] - r['noisy_psnr']:.1f} dB"


# --- classifier evaluation (bench/classifier-eval) ------------------------------------------------------------------

# --- bench/reconstruct: the reconstruction study --------------------------------------------------------------------

RECON_TASKS = {"mri4": "MRI x4 single-coil", "mri8mc": "MRI x8 4-coil", "ct16": "CT 16 views",
               "deblur": "Gaussian deblur σ 1.5", "sr4": "SR x4"}


def recon_method_label(method):
    names = {"zero-filled": "zero-filled / adjoint", "tikhonov": "Tikhonov (CG)", "dps": "DPS"}
    return names.get(method) or ("DDS, M " + method[len("dds_m"):] if method.startswith("dds_m") else method)


def recon_method_order(method):
    fixed = {"zero-filled": 0, "tikhonov": 1, "dps": 2}
    return (fixed[method], 0) if method in fixed else (3, int(method[len("dds_m"):]))


def reconstruct_cells(runs):
    """Per (task, method): images, PSNR and SSIM mean and population std, NFE, mean wall seconds of one run."""
    groups = {}
    for r in runs:
        groups.setdefault((r["task"], r["method"]), []).append(r)
    out = []
    for (task, method), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], recon_method_order(kv[0][1]))):
        def stat(key):
            vals = [r[key] for r in rs]
            return statistics.fmean(vals), statistics.pstdev(vals)
        (p, ps), (s, ss), (w, _) = stat("psnr"), stat("ssim"), stat("wall_seconds")
        out.append({"task": task, "method": method, "count": len(rs), "psnr_mean": p, "psnr_std": ps,
                    "ssim_mean": s, "ssim_std": ss, "nfe": rs[0]["nfe"], "wall_seconds_mean": w,
                    "images": sorted(r["image"] for r in rs)})
    return out


def recon_cell(result, task, method):
    return next(c for c in result["data"]["cells"] if c["task"] == task and c["method"] == method)


def recon_seconds(v):
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"


def render_reconstruct(result):
    d = result["data"]
    lines = ["| task | method | images | PSNR dB | SSIM | NFE | s per image |", "|---|---|---:|---:|---:|---:|---:|"]
    order = list(RECON_TASKS)
    for c in sorted(d["cells"], key=lambda c: (order.index(c["task"]), recon_method_order(c["method"]))):
        lines.append(f"| {RECON_TASKS[c['task']]} | {recon_method_label(c['method'])} | {c['count']} | "
                     f"{c['psnr_mean']:.2f} ± {c['psnr_std']:.2f} | {c['ssim_mean']:.3f} ± {c['ssim_std']:.3f} | "
                     f"{c['nfe']} | {recon_seconds(c['wall_seconds_mean'])} |")
    s = d["settings"]
    lines.append("")
    note = (f"phantom64 prior, {len(s['images'])} held-out images per task (Colin27 slices, then unseen ellipse "
            f"phantoms{', skipping the blank ' + ', '.join(s['skipped_blank']) if s.get('skipped_blank') else ''}), "
            f"seed i for slice i and 7 + k for phantom k; {s['threads']} thread(s) per run, {s['jobs']} run(s) at a time; "
            f"{day(result)}, {load_pair(result)}.")
    if not d.get("complete", True):
        note += (f" **Incomplete**: {sum(d['missing'].values())} of {d.get('planned_runs', '?')} planned runs still "
                 f"missing, so some cells have fewer images (the images column) and cells not yet run are absent; "
                 f"bench/reconstruct resumes from its cache.")
    lines.append(note)
    return "\n".join(lines)


def reconstruct_pairs(result, task, a, b):
    """PSNRs and wall times of methods a and b on the images both ran (DPS may cover fewer images)."""
    runs = result["data"]["runs"]
    ra = {r["image"]: r for r in runs if r["task"] == task and r["method"] == a}
    rb = {r["image"]: r for r in runs if r["task"] == task and r["method"] == b}
    common = sorted(set(ra) & set(rb))
    return [(ra[i], rb[i]) for i in common]


def render_reconstruct_claim(result, dds="dds_m5"):
    """The issue's claim, task by task, on paired images: DDS@50 against DPS@1000 (PSNR difference, time ratio)
    and against the zero-filled/adjoint baseline."""
    lines = ["| task | images with DPS | DDS@50 − DPS@1000 PSNR dB | DPS time / DDS time | DDS@50 − zero-filled PSNR dB |",
             "|---|---:|---:|---:|---:|"]
    wins, ratios, gains = 0, [], []
    tasks = [t for t in RECON_TASKS if any(c["task"] == t for c in result["data"]["cells"])]
    for t in tasks:
        dp = reconstruct_pairs(result, t, dds, "dps")
        zf = reconstruct_pairs(result, t, dds, "zero-filled")
        gain = statistics.fmean(a["psnr"] - b["psnr"] for a, b in zf) if zf else None
        if gain is not None:
            gains.append(gain)
        if dp:
            diff = statistics.fmean(a["psnr"] - b["psnr"] for a, b in dp)
            sd = statistics.pstdev([a["psnr"] - b["psnr"] for a, b in dp])
            ratio_t = statistics.fmean(b["wall_seconds"] for a, b in dp) / statistics.fmean(a["wall_seconds"] for a, b in dp)
            wins += diff >= 0
            ratios.append(ratio_t)
            lines.append(f"| {RECON_TASKS[t]} | {len(dp)} | {diff:+.2f} ± {sd:.2f} | {ratio_t:.0f}x | {fmt(gain, 2)} |")
        else:
            lines.append(f"| {RECON_TASKS[t]} | 0 | n/a | n/a | {fmt(gain, 2)} |")
    lines.append("")
    if ratios:
        lines.append(f"DDS@50 (M 5) reaches DPS@1000's mean PSNR in {wins} of {len(ratios)} tasks, on the same images, "
                     f"in {min(ratios):.0f}-{max(ratios):.0f}x less wall time; it beats the zero-filled/adjoint baseline "
                     f"by {min(gains):.1f} to {max(gains):.1f} dB.")
    return "\n".join(lines)


# --- bench/speed: time per NFE at 256x256 and DDS at 64x64 ----------------------------------------------------------

def render_speed(result):
    d = result["data"]
    u, e = d["unet_adm256"], d["unet_adm256"]["engines"]
    lines = ["| work | Tweedie | PyTorch | Tweedie/PyTorch |", "|---|---:|---:|---:|",
             f"| one NFE, 256x256 ADM-like UNet ({u['parameters'] / 1e6:.1f}M parameters), batch 1 | "
             f"{e['tweedie']['median_ms'] / 1000:.2f} s | {e['pytorch']['median_ms'] / 1000:.2f} s | "
             f"{ratio(e['tweedie']['median_ms'], e['pytorch']['median_ms'])} |",
             f"| DDS, 50 NFE, 64x64 single-coil MRI x4 (phantom64) | {d['dds_mri64']['median_seconds']:.2f} s | | |",
             "",
             f"{d['threads']} threads; medians of {e['tweedie']['calls']} and {e['pytorch']['calls']} timed calls "
             f"(interleaved rounds) and of {len(d['dds_mri64']['runs'])} DDS runs; {u['gflop_per_call']:.0f} GEMM "
             f"GFLOP per call; {day(result)}, {load_pair(result)}."]
    if busy(result, d["threads"]):
        lines.append("")
        lines.append("**The machine was busy (1-minute load above the threads + 1 at the end): other processes shared "
                     "the CPUs, so these times are noisy; rerun on a quiet machine before reading the ratio.**")
    return "\n".join(lines)


def busy_note(result, threads):
    """The warning lines under a timing table whose machine was busy, or none."""
    if not busy(result, threads):
        return []
    return ["", "**The machine was busy (1-minute load above the threads + 1 at the end): these times are noisy.**"]


def render_generate(result):
    d = result["data"]
    tw, df, pipe = d["tweedie_seconds"], d["diffusers_seconds"], d["diffusers_pipeline_seconds"]
    n = sum(1 for r in d["runs"] if r["engine"] == "tweedie")
    lines = ["| work | Tweedie | diffusers | Tweedie/diffusers |", "|---|---:|---:|---:|",
             f"| whole process: load, {d['steps']} {d['sampler'].upper()} steps with CFG {d['cfg_scale']:g}, "
             f"{d['images']} PNGs | {tw:.2f} s | {df:.2f} s | {ratio(tw, df)} |",
             f"| the same, against diffusers' pipeline call alone (loaded model to written PNGs) | {tw:.2f} s | "
             f"{pipe:.2f} s | {ratio(tw, pipe)} |",
             "",
             f"{d['model']}, batch {d['images']}, {d['threads']} threads; medians of {n} alternating rounds; "
             f"{day(result)}, {load_pair(result)}."]
    return "\n".join(lines + busy_note(result, d["threads"]))


def render_precision(result):
    d = result["data"]
    lines = ["| model | batch | Float32 ms | BF16 ms | BF16/Float32 |", "|---|---:|---:|---:|---:|"]
    for c in d["cells"]:
        lines.append(f"| {c['model']} | {c['batch']} | {c['f32_ms']:.1f} | {c['bf16_ms']:.1f} | {c['ratio']:.2f}x |")
    lines += ["", f"{d['threads']} threads; medians of {d['rounds']} alternating rounds x {d['iters']} calls; CPU "
                  f"{result['machine'].get('cpu_model', '?')} ({d['cpu_bf16_flags'] or 'no BF16 flags'}); "
                  f"{day(result)}, {load_pair(result)}."]
    return "\n".join(lines + busy_note(result, d["threads"]))


def render_confusion(result):
    d = result["data"]
    names = d["labels"]
    k = len(names)
    lines = ["| true \\ predicted | " + " | ".join(str(i) for i in range(k)) + " | recall |",
             "|---|" + "---:|" * (k + 1)]
    for i, row in enumerate(d["test"]["confusion"]):
        lines.append(f"| {i} {names[i]} | " + " | ".join(str(v) for v in row) + f" | {pct(row[i], sum(row), 1)} |")
    return "\n".join(lines)


def classifier_acc(result, key="test"):
    t = result["data"][key]
    return pct(t["correct"], t["count"], 2)


# --- accuracy.json (scripts/measure-accuracy) -----------------------------------------------------------------------

def measured(result, name):
    """The recorded value of test measurement `name` (the largest when several runs recorded it)."""
    values = [m["value"] for m in result["data"]["measurements"] if m["name"] == name and m["value"] is not None]
    if not values:
        raise KeyError(f"accuracy.json has no measurement named {name!r}")
    return max(values)


ACCURACY_GROUPS = [
    ("models vs diffusers (`ModelParityTests`)", r"^model parity "),
    ("`tweedie forward` vs diffusers", r"^tweedie forward"),
    ("differentiable (tape) models vs diffusers", r"^differentiable .* vs diffusers"),
    ("tape vs inference network, exported vs training network", r"^(differentiable .* vs inference|exported )"),
    ("model gradients vs PyTorch autograd (float64)", r"^((UNet|DiT) gradient|parameter gradient)"),
    ("classifier logits and gradients vs PyTorch (float64)", r"^classifier "),
    ("op gradients and backward kernels vs finite differences / Float64 references",
     r"^(gradient |conv backward|attention gradient|avgPool2d|fused )"),
    ("schedules vs diffusers", r"^schedule"),
    ("sampler trajectories vs diffusers (final sample)", r"^sampler parity .*(final sample|cfg)"),
    ("sampler sigmas and timesteps vs diffusers", r"^sampler parity .*(sigmas|timesteps)"),
    ("initial latents vs diffusers pipelines", r"^initial latents"),
    ("`tweedie generate` vs diffusers pipelines", r"^pipeline parity "),
]


def accuracy_groups(result):
    """[(label, [measurement, ...])] in ACCURACY_GROUPS order; what no group matches ends up in 'other'."""
    ms = result["data"]["measurements"]
    out, taken = [], set()
    for label, pattern in ACCURACY_GROUPS:
        group = [m for i, m in enumerate(ms) if i not in taken and re.search(pattern, m["name"])]
        taken |= {i for i, m in enumerate(ms) if m in group}
        if group:
            out.append((label, group))
    rest = [m for i, m in enumerate(ms) if i not in taken]
    if rest:
        names = sorted({re.sub(r"[0-9].*$", "", m["name"]).strip() for m in rest})
        out.append(("other: " + ", ".join(names), rest))
    return out


def _worst(group):
    """The measurement closest to its tolerance (NaN counts as failing)."""
    def closeness(m):
        if m["value"] is None:
            return math.inf
        return m["value"] / m["tolerance"] if m["tolerance"] else (0 if m["value"] == 0 else math.inf)
    return max(group, key=closeness)


def render_accuracy(result):
    """One row per group of test measurements: how many, and the one nearest its tolerance (error / tolerance).
    Groups mix units (relative errors, absolute errors, finite-difference gaps), so no cross-row maximum is shown;
    render_accuracy_full lists every measurement."""
    lines = ["| measured by the tests | count | nearest its tolerance | error | tolerance |",
             "|---|---:|---|---:|---:|"]
    for label, group in accuracy_groups(result):
        w = _worst(group)
        value = "NaN" if w["value"] is None else sci(w["value"], 1)
        lines.append(f"| {label} | {len(group)} | `{w['name']}` | {value} | {sci(w['tolerance'], 1)} |")
    d = result["data"]
    kernels = sorted({m.get("kernel", "?") for m in d["measurements"]})
    lines += ["", f"{len(d['measurements'])} measurements from {len(d['filters'])} test classes, tests "
                  f"{'passed' if d['tests_passed'] else 'FAILED'}; OpenBLAS kernel {', '.join(kernels)}; "
                  f"tweedie {(result['versions'].get('tweedie_commit') or '?')[:12]}, {day(result)}."]
    return "\n".join(lines)


def render_accuracy_full(result):
    """Every measurement of the stored run: name, value, tolerance."""
    lines = ["| measurement | value | tolerance |", "|---|---:|---:|"]
    for m in sorted(result["data"]["measurements"], key=lambda m: m["name"]):
        v = m["value"]
        lines.append(f"| `{m['name']}` | {sci(v, 2) if v is not None else 'NaN'} | {sci(m['tolerance'], 1)} |")
    return "\n".join(lines)


# --- scripts/fuzz-report: executions per fuzz target -----------------------------------------------------------------

FUZZ_TARGETS = [("safetensors", "safetensors header and tensors"), ("config", "config.json, scheduler_config.json"),
                ("png", "PNG, text chunks, the `tweedie` recipe"), ("nifti_idx", "gzip, IDX, NIfTI-1"),
                ("measurements", "`reconstruct --measurements` files")]


def render_fuzz(result):
    d, m = result["data"], result["machine"]
    lines = ["| target | reads | executions | seconds | executions/s | crashes | date | commit |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    known = dict(FUZZ_TARGETS)
    order = [t for t, _ in FUZZ_TARGETS if t in d["targets"]] + sorted(set(d["targets"]) - set(known))
    for t in order:
        e = d["targets"][t]
        lines.append(f"| `{t}` | {known.get(t, '')} | {thousands(e['executions'])} | {e['seconds']} | "
                     f"{thousands(e['executions_per_second'] or 0)} | {e['crashes']} | {e['date'][:10]} | "
                     f"{e['commit'][:12]}{'-dirty' if e['commit'].endswith('-dirty') else ''} |")
    lines += ["", f"libFuzzer with AddressSanitizer, one job per target at nice 10 on {m.get('cpu_model', '?')} "
                  f"({m.get('cores', '?')} cores, shared with a training job); goal {thousands(d['goal_executions'])} "
                  f"executions per target."]
    return "\n".join(lines)


# --- scripts/measure-long-run: 1000 images in one process ------------------------------------------------------------

def long_run_rss(result):
    lo, hi = result["data"]["long_run"]["rss_mb_min_max_after_10pct"]
    return f"{lo:.0f}-{hi:.0f} MB"


def long_run_identical(result):
    e = result["data"]["one_per_process"]
    return f"{thousands(e['identical'])} of {thousands(e['images_compared'])}"


def long_run_batch_rss(result):
    return " / ".join(f"{c['peak_rss_mb']:.0f}" for c in result["data"]["batch_size_peak_rss"]) + " MB"


def long_run_batch_sizes(result):
    return " / ".join(str(c["batch_size"]) for c in result["data"]["batch_size_peak_rss"])


# --- bench/quantize: int8 weight-only quantization ------------------------------------------------------------------

def quantize_stats(result, model):
    """Judge accuracy, mean probability of the intended class and PSNR (int8 vs Float32, same seeds) of one model,
    and its timing cells."""
    m = result["data"]["models"][model]
    out = {"model": model, "file_mb": (m["float32_file_bytes"] / 2 ** 20, m["int8_file_bytes"] / 2 ** 20)}
    q = m.get("quality")
    if q:
        for kind in ("float32", "int8"):
            cs = q[kind]
            n = sum(c["n"] for c in cs)
            out[kind] = {"correct": sum(c["correct"] for c in cs), "n": n,
                         "p_class": sum(sum(c["p_class"]) for c in cs) / n}
        ps = [v for c in q["int8"] for v in c["psnr_vs_f32"]]
        finite = sorted(v for v in ps if v is not None)
        out["psnr"] = {"median": statistics.median(finite) if finite else None, "min": finite[0] if finite else None,
                       "identical": sum(v is None for v in ps), "n": len(ps)}
    out["speed"] = {c["batch"]: c for c in m.get("speed", [])}
    return out


def render_quantize(result):
    d = result["data"]
    batches = d["settings"]["batches"]
    head = ("| model | weights file MB (F32 / int8) | judge accuracy F32 | judge accuracy int8 | p(intended class) "
            "F32 / int8 | PSNR int8 vs F32, median (min) |"
            + "".join(f" ms/call batch {b} (F32 / int8) |" for b in batches)
            + f" peak RSS MB batch {batches[0]} (F32 / int8) |")
    lines = [head, "|---|---:|---:|---:|---:|---:|" + "---:|" * (len(batches) + 1)]
    for model in d["models"]:
        s = quantize_stats(result, model)
        f32, i8, p = s.get("float32"), s.get("int8"), s.get("psnr")
        cells = [model, f"{s['file_mb'][0]:.1f} / {s['file_mb'][1]:.1f}"]
        if f32:
            cells += [f"{f32['correct']}/{f32['n']} ({pct(f32['correct'], f32['n'], 1)})",
                      f"{i8['correct']}/{i8['n']} ({pct(i8['correct'], i8['n'], 1)})",
                      f"{f32['p_class']:.3f} / {i8['p_class']:.3f}", f"{fmt(p['median'])} dB ({fmt(p['min'])})"]
        else:
            cells += ["n/a"] * 4
        for b in batches:
            c = s["speed"].get(b)
            cells.append(f"{c['float32']['median_ms']:.1f} / {c['int8']['median_ms']:.1f}" if c else "n/a")
        c = s["speed"].get(batches[0])
        cells.append(f"{c['float32']['peak_rss_mb']:.0f} / {c['int8']['peak_rss_mb']:.0f}" if c else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    st = d["settings"]
    lines += ["", f"Judge protocol of `bench/measure judge` on both folders with the same seeds: {st['per_class']} "
                  f"images per class, seed {st['seed']}, {st['sampler']} {st['steps']} steps, CFG {st['cfg_scale']:g}, "
                  f"judge {st['judge']}; "
                  f"PSNR of each int8 PNG against the Float32 PNG of the same seed (8-bit, peak 255). Speed: "
                  f"`tweedie bench`, timestep 500, {st['threads']} thread(s), {st['rounds']} alternating rounds of "
                  f"{st['iters']} calls, median; peak RSS of the whole process. {day(result)}, {load_pair(result)}."]
    return "\n".join(lines)


# --- bench/prune: learned structural pruning ------------------------------------------------------------------------

PRUNE_METHODS = {"trajectory": "EcoDiff (trajectory)", "one-step": "one-step local loss", "magnitude": "weight magnitude",
                 "random": "random"}


def prune_rows(result):
    """One dict per folder (the unpruned model first): method, ratio, parameters, quality and speed cells."""
    d = result["data"]
    speed = {c["batch"]: c for c in d.get("speed", [])}
    q = d.get("quality", {})
    base_ms = {b: c["unpruned"]["median_ms"] for b, c in speed.items()}
    # Table order: EcoDiff by ratio, then per ratio the one-step, magnitude and random baselines (the stored
    # object's keys are sorted by name).
    methods = list(PRUNE_METHODS)
    names = ["unpruned"] + sorted(d["train"], key=lambda n: (d["train"][n]["method"] != "trajectory",
                                                             d["train"][n]["ratio"],
                                                             methods.index(d["train"][n]["method"])))
    rows = []
    for name in names:
        t = d["train"].get(name, {})
        row = {"name": name, "method": t.get("method"), "ratio": t.get("ratio"),
               "removed_share": t.get("removed_share", 0.0),
               "parameters": t.get("parameters_after", t.get("parameters_before")), "quality": q.get(name),
               "ms": {b: c[name]["median_ms"] for b, c in speed.items() if name in c},
               "gflop": {b: c[name].get("gflop_per_call") for b, c in speed.items() if name in c}}
        if row["parameters"] is None:
            row["parameters"] = next(iter(d["train"].values()))["parameters_before"]
        row["speedup"] = {b: base_ms[b] / ms for b, ms in row["ms"].items()}
        if row["quality"] and row["quality"].get("psnr_vs_unpruned"):
            ps = sorted(v for v in row["quality"]["psnr_vs_unpruned"] if v is not None)
            row["psnr"] = statistics.median(ps) if ps else None
        rows.append(row)
    return rows


def prune_row(result, method, ratio):
    return next(r for r in prune_rows(result) if r["method"] == method and abs(r["ratio"] - ratio) < 1e-9)


def render_prune(result):
    d = result["data"]
    s = d["settings"]
    batches = s["bench_batches"]
    head = ("| method | prunable parameters removed | parameters | judge accuracy | PSNR vs unpruned, median | "
            f"feature distance to unpruned | FD to real test images | GFLOP/call batch {batches[0]} |"
            + "".join(f" ms/call batch {b} |" for b in batches) + f" speed-up batch {batches[-1]} |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * (len(batches) + 1)]
    for r in prune_rows(result):
        q = r["quality"]
        label = "unpruned" if r["name"] == "unpruned" else PRUNE_METHODS[r["method"]]
        cells = [label, "0" if r["name"] == "unpruned" else f"{100 * r['removed_share']:.1f} %",
                 thousands(r["parameters"])]
        if q:
            cells += [f"{q['correct']}/{q['n']} ({pct(q['correct'], q['n'], 0)})",
                      "—" if r["name"] == "unpruned" else f"{fmt(r.get('psnr'))} dB",
                      "0" if r["name"] == "unpruned" else f"{q['feature_distance_vs_unpruned']:.2f}",
                      f"{q['fd_real']:.2f}"]
        else:
            cells += ["n/a"] * 4
        g = r["gflop"].get(batches[0])
        cells.append("n/a" if g is None else f"{g:.3f}")
        cells += [fmt(r["ms"].get(b)) for b in batches]
        sp = r["speedup"].get(batches[-1])
        cells.append("n/a" if sp is None else f"{sp:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    # The run that learned the masks (the other ratios re-export it).
    t = next(v for v in d["train"].values() if v["method"] == "trajectory" and v["log"])
    notes = [f"{d['model']}; masks learned once by `tweedie prune` (trajectory loss, {s['calibration']} calibration "
             f"pairs, {s['batch']} trajectories per update, {s['steps']} updates, {s['sampling_steps']} Euler steps, "
             f"CFG {s['cfg_scale']:g}, lr {s['lr']:g}, regulariser weight {s['reg_weight']:g}: "
             f"{sum(x['update_seconds'] for x in t['log']) / 60:.1f} min) and exported at each ratio; the one-step "
             f"baseline learns the same way from one denoiser call per trajectory (at the first of its ratios, "
             f"exported at the others); baselines at "
             + " and ".join(f"{100 * r:.0f} %" for r in s["baseline_ratios"]) + " of the prunable parameters."]
    if "quality" in d:
        real = d["quality"]["_real"]
        notes.append(f"Judge: {s['per_class']} images per class, seed {s['seed']}, euler_a 20 steps, CFG "
                     f"{s['cfg_scale']:g}, {s['judge']}, the same seeds for every folder; PSNR of each pruned PNG "
                     f"against the unpruned one of the same seed (8-bit); feature distance: mean L2 distance between "
                     f"the judge's pooled features of the pruned and the unpruned image of the same seed (mean "
                     f"feature norm {real['feature_norm_mean']:.1f}); FD: Fréchet distance of the judge features to "
                     f"{real['images']} colourised test images (two halves of the unpruned set are "
                     f"{real['fd_unpruned_self_split']:.2f} apart).")
    if "speed" in d:
        loads = ", ".join(c["load_after"].split()[0] for c in d["speed"])
        notes.append(f"GFLOP/call: the GEMM work `tweedie bench` counts per call. "
                     f"Speed: `tweedie bench`, timestep 500, {s['threads']} threads, {s['rounds']} alternating rounds "
                     f"of {s['iters']} calls per folder, median; other work paused where possible (1-minute load "
                     f"average after each batch size: {loads}).")
    if "memory" in d:
        m = d["memory"]
        notes.append(f"Peak RSS of a training run ({s['batch']} trajectories of {s['sampling_steps']} steps with CFG): "
                     f"{m['step_checkpointing']['peak_rss_mb']:.0f} MB with step checkpointing, "
                     f"{m['no_checkpointing']['peak_rss_mb']:.0f} MB without.")
    notes.append(f"{day(result)}, {load_pair(result)}.")
    return "\n".join(lines + [""] + [" ".join(notes)])


# --- bench/invert: textual inversion, ZOODiP on int8 vs backprop on Float32 ----------------------------------------

def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def invert_row(entry, target_hue):
    """Mean cosine to the references, p(Bag), share judged Bag and hue error of one run's samples."""
    hues = [h for h in entry["hue"] if h is not None]
    err = [min(abs(h - target_hue) % 1.0, 1 - abs(h - target_hue) % 1.0) for h in hues]
    return {"cosine": _mean(entry["cosine"]), "p_bag": _mean(entry["p_bag"]),
            "judged": sum(p == 8 for p in entry["predicted"]), "n": len(entry["predicted"]), "hue_error": _mean(err)}


def invert_memory(result):
    """{(model, batch): (backprop-F32 MB, ZO-int8 MB, ratio, ratio above the idle process)} of invert-memory.json."""
    d = result["data"]
    idle = d["idle_rss_mb"]
    out = {}
    for m in d["models"]:
        for row in m["batches"]:
            bp, zo = row["backprop_f32"]["peak_rss_mb"], row["zo_int8"]["peak_rss_mb"]
            out[(m["name"], row["batch"])] = (bp, zo, bp / zo, (bp - idle) / (zo - idle))
    return out


def invert_memory_torch(result):
    """{(model, batch): PyTorch backprop-F32 peak RSS MB} of invert-memory.json, for the rows that have one."""
    return {(m["name"], row["batch"]): row["backprop_f32_pytorch"]["peak_rss_mb"]
            for m in result["data"]["models"] for row in m["batches"] if row.get("backprop_f32_pytorch")}


def _torch_loaded(d):
    loaded = [row["backprop_f32_pytorch"]["loaded_rss_mb"] for m in d["models"] for row in m["batches"]
              if row.get("backprop_f32_pytorch")]
    return f"{min(loaded):.0f}" if loaded else "?"


def render_invert_memory(result):
    """Peak RSS of backprop on Float32 against ZO on int8, per model and batch."""
    d = result["data"]
    mem = invert_memory(result)
    lines = ["| model | parameters | weights MB (F32 / int8) | batch | backprop-F32 peak RSS MB | ZO-int8 peak RSS MB | "
             "ratio | ratio above idle | PyTorch backprop-F32 MB | PyTorch / ZO-int8 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in d["models"]:
        for row in m["batches"]:
            bp, zo, r, net = mem[(m["name"], row["batch"])]
            pt = row.get("backprop_f32_pytorch")
            pt_cells = f"{pt['peak_rss_mb']:.1f} | {pt['peak_rss_mb'] / zo:.2f}x" if pt else "- | -"
            lines.append(f"| {m['name']} ({m['description']}) | {m['parameters'] / 1e6:.1f}M | "
                         f"{m['weights_mb']['float32']:.1f} / {m['weights_mb']['int8']:.1f} | {row['batch']} | "
                         f"{bp:.1f} | {zo:.1f} | **{r:.2f}x** | {net:.2f}x | {pt_cells} |")
    lines += ["", f"Peak RSS of the whole process (VmHWM) over {d['steps']} updates of each method, same seed and "
              f"images; ZO: n 2 (3 forward passes an update), subspace and PUTS on. Idle process (`tweedie --version`): "
              f"{d['idle_rss_mb']:.0f} MB. The larger U-Nets have random weights (memory does not depend on their "
              f"values). oneDNN's weight cache off for both (`TWEEDIE_ONEDNN_CACHE_MB={d.get('onednn_cache_mb', 1024)}`). PyTorch: the "
              f"same updates in diffusers' UNet2DModel (bench/invert_torch_memory.py); a PyTorch process "
              f"holding the smallest model peaks at {_torch_loaded(d)} MB before its first update, most of it the library. "
              f"{d['threads']} thread(s), {day(result)}, {load_pair(result)}."]
    return "\n".join(lines)


def render_invert(result):
    d = result["data"]
    st = d["settings"]
    hue = st["target_hue"]
    lines = ["| run | weights | gradient | passes per update | s / update | peak RSS MB | cosine to references | "
             "p(Bag) | judged Bag | hue error |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]

    def cells(entry):
        r = invert_row(entry, hue)
        return [f"{r['cosine']:.3f}", f"{r['p_bag']:.3f}", f"{r['judged']}/{r['n']}", f"{r['hue_error']:.3f}"]

    if d.get("baseline"):
        lines.append("| " + " | ".join([d["baseline"]["name"], "Float32", "-", "-", "-", "-"] + cells(d["baseline"])) + " |")
    for e in d["runs"]:
        inv = e["invert"]
        passes = f"{inv['forward_passes_per_step']:g} forward" + (" + 1 backward" if inv["backward_passes_per_step"] else "")
        grad = "backprop" if e["method"] == "backprop" else f"ZO, d_eff {inv['effective_dimension']}/{inv['dimension']}"
        weights = {"float32": "Float32"}.get(e["weights"], e["weights"])
        lines.append("| " + " | ".join([e["name"], weights, grad, passes, f"{inv['seconds_per_step']:.2f}",
                                        f"{inv['peak_rss_mb']:.1f}"] + cells(e)) + " |")
    lines += ["",
              f"Concept: {st['references']} test-split Bags in hue {hue} (scripts/make_concept_images.py); "
              f"{st['steps']} updates of {st['batch']} images, seed {st['seed']}, row started from the Bag row; "
              f"{st['samples']} samples per run on the Float32 model (euler_a 20 steps, CFG 3, seeds "
              f"{st['sample_seed']}...); cosine of the judge's pooled features ({st['judge']}) between samples and "
              f"references; hue error: circular distance of each sample's mean hue from {hue}, in turns. "
              f"{st['threads']} thread(s), {day(result)}, {load_pair(result)}."]
    return "\n".join(l for l in lines if l is not None)


# --- bench/compare: two engine commits side by side ---------------------------------------------------------------

def render_compare(result):
    """bench/compare: one engine commit against another on bench/run's cells."""
    d = result["data"]
    lines = [f"{day(result)}; {d['threads']} threads, {d['rounds']} interleaved rounds; "
             f"{load_pair(result)} the timing phase",
             "",
             f"| model | batch | now ms ({d['current'][:10]}) | before ms ({d['baseline'][:10]}) | now/before |",
             "|---|---:|---:|---:|---:|"]
    for c in d["cells"]:
        lines.append(f"| {c['model']} | {c['batch']} | {fmt(c['current_ms'])} | {fmt(c['baseline_ms'])} | "
                     f"{ratio(c['current_ms'], c['baseline_ms'])} |")
    return "\n".join(lines)


# --- bench/allocs: heap allocations per call and per step --------------------------------------------------------

def render_allocs(result):
    """bench/allocs: steady-state heap allocations per denoiser call and per Euler step, before and now."""
    d = result["data"]
    before = {(c["model"], c["batch"], c["threads"]): c for c in d.get("before", {}).get("cells", [])}
    now_label = (d["now"].get("commit") or "now")[:10]
    head = ["model", "batch", "threads"]
    if before:
        head += [f"per call before ({(d['before'].get('commit') or 'before')[:10]})", "per step before"]
    head += [f"per call now ({now_label})", "per step now", "MB per step now"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for c in d["now"]["cells"]:
        row = [c["model"], str(c["batch"]), str(c["threads"])]
        if before:
            b = before.get((c["model"], c["batch"], c["threads"]))
            row += [str(b["allocs_per_call"]), str(b["allocs_per_step"])] if b else ["", ""]
        row += [str(c["allocs_per_call"]), str(c["allocs_per_step"]), f"{c['alloc_bytes_per_step'] / 1e6:.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Counted by `tweedie bench`'s counting malloc after 2 warm-up calls (a step: the largest of 3 Euler "
              f"steps after 2 uncounted ones); {day(result)}. Counts do not depend on the machine's load; at 1 thread "
              f"they repeat exactly, at 2 they include the thread pools' own allocations and move by a few."]
    return "\n".join(lines)


def alloc_cell(result, model, batch, threads, key, side="now"):
    for c in result["data"][side]["cells"]:
        if (c["model"], c["batch"], c["threads"]) == (model, batch, threads):
            return c[key]
    raise KeyError(f"allocs: no cell {model} batch {batch} threads {threads} in {side}")
