"""Tables and figures of bench/pgc (score distillation with each gradient clip mode): the per-mode statistics from
the stored runs, the paired high-frequency comparison of PGC against no clipping, and the result grid. Used by
bench/pgc and scripts/check-claims (block `pgc`)."""
import math
import os

import claims as C

MODES = ["pixel", "none", "global", "clamp"]
# Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal 1.96).
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(df):
    return T975[df - 1] if 1 <= df <= len(T975) else 1.96


def mean(xs):
    return sum(xs) / len(xs)


def std(xs):
    """Sample standard deviation (n - 1); 0 for a single value."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def laplacian_energy(pixels, width, height, channels):
    """Mean |4x - left - right - up - down| over interior pixels and channels, pixels as bytes / 255 (row-major,
    interleaved channels): the high-frequency energy of an image."""
    total, count = 0.0, 0
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            for c in range(channels):
                def at(xx, yy):
                    return pixels[(yy * width + xx) * channels + c] / 255.0
                lap = 4 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1)
                total += abs(lap)
                count += 1
    return total / count


def mode_stats(runs, pixel_variance):
    """{mode: {n, confidence mean/std, judged, hf mean/std, pixel_variance}} over the stored runs."""
    out = {}
    for mode in MODES:
        rs = [r for r in runs if r["clip"] == mode]
        if not rs:
            continue
        conf, hf = [r["confidence"] for r in rs], [r["hf_energy"] for r in rs]
        out[mode] = {"n": len(rs), "confidence": mean(conf), "confidence_std": std(conf),
                     "judged": sum(r["predicted"] == r["class"] for r in rs), "hf": mean(hf), "hf_std": std(hf),
                     "pixel_variance": pixel_variance.get(mode)}
    return out


def paired_hf(runs, a="pixel", b="none"):
    """Relative change of the high-frequency energy of mode a against mode b over the seeds both ran:
    (mean of a/b − 1) with a 95 % t-interval, and the seeds' count."""
    by = {(r["clip"], r["seed"]): r["hf_energy"] for r in runs}
    seeds = sorted(s for (m, s) in by if m == a and (b, s) in by)
    ratios = [by[(a, s)] / by[(b, s)] - 1 for s in seeds if by[(b, s)] > 0]
    if not ratios:
        return None
    m, h = mean(ratios), t975(len(ratios) - 1) * std(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else 0.0
    return {"change": m, "lo": m - h, "hi": m + h, "n": len(ratios)}


def verdict(p):
    """One plain sentence on whether PGC lowers the high-frequency energy, from the paired interval."""
    if p is None:
        return "No paired runs of pixel and none: no statement on the high-frequency noise."
    ci = f"paired over {p['n']} seeds, 95 % CI {100 * p['lo']:+.1f} % to {100 * p['hi']:+.1f} %"
    if p["hi"] < 0:
        return (f"**PGC reduces the high-frequency noise here**: the mean |Laplacian| with `--clip pixel` is "
                f"{-100 * p['change']:.1f} % lower than without clipping ({ci}).")
    if p["lo"] > 0:
        return (f"**PGC does not reduce the high-frequency noise here; it raises it**: the mean |Laplacian| with "
                f"`--clip pixel` is {100 * p['change']:.1f} % higher than without clipping ({ci}).")
    return (f"**No measurable effect of PGC on the high-frequency noise here**: the mean |Laplacian| with `--clip "
            f"pixel` changes by {100 * p['change']:+.1f} % against no clipping ({ci}), an interval that includes 0.")


def render_pgc(result):
    d = result["data"]
    s = d["settings"]
    stats = mode_stats(d["runs"], d["pixel_variance"])
    lines = ["| --clip | runs | judge p(target) mean ± std | judged target | mean \\|Laplacian\\| ± std | "
             "pixel variance across runs |", "|---|---:|---:|---:|---:|---:|"]
    for mode, st in stats.items():
        pv = st["pixel_variance"]
        lines.append(f"| {mode} | {st['n']} | {st['confidence']:.3f} ± {st['confidence_std']:.3f} | "
                     f"{st['judged']}/{st['n']} | {st['hf']:.4f} ± {st['hf_std']:.4f} | "
                     + ("n/a" if pv is None else f"{pv:.4f}") + " |")
    notes = [verdict(paired_hf(d["runs"])),
             f"`tweedie sds -m {s['model']} --class {s['class']} --steps {s['steps']} --cfg-scale {s['cfg_scale']:g} "
             f"--clip-value {s['clip_value']:g} --lr {s['lr']:g}`, seeds 0...{s['runs'] - 1} for every mode (the same "
             f"start image and draws per seed); judge {s['judge']}; |Laplacian|: mean absolute 5-point Laplacian of "
             f"the final PNG in [0, 1] over interior pixels and channels; std: across runs; pixel variance: mean over "
             f"pixels of the variance across runs. Grid: {d['grid']}, one row per mode in the table's "
             f"order. {s['threads']} thread(s), {C.day(result)}, {C.load_pair(result)}."]
    return "\n".join(lines + [""] + notes)


def draw_grid(runs, work, modes, columns, path):
    """Rows: modes; columns: the first `columns` seeds; images 2x nearest, 2-pixel gaps."""
    from PIL import Image
    tiles = {(r["clip"], r["seed"]): os.path.join(work, r["image"]) for r in runs}
    seeds = sorted({r["seed"] for r in runs})[:columns]
    first = Image.open(tiles[(modes[0], seeds[0])])
    w, h = first.size[0] * 2, first.size[1] * 2
    grid = Image.new("RGB", (len(seeds) * (w + 2) + 2, len(modes) * (h + 2) + 2), (255, 255, 255))
    for i, mode in enumerate(modes):
        for j, seed in enumerate(seeds):
            if (mode, seed) in tiles:
                tile = Image.open(tiles[(mode, seed)]).convert("RGB").resize((w, h), Image.NEAREST)
                grid.paste(tile, (2 + j * (w + 2), 2 + i * (h + 2)))
    grid.save(path)
