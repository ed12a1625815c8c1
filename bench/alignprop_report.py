"""Renderers of bench/alignprop's stored result (bench/results/alignprop.json): the README table and figures, the
reward-curve plot and the before/after grid. scripts/check-claims renders the README's alignprop claims with
these functions."""
import os
import statistics

import claims as C

TRUNCATION_LABELS = {"last:1": "K = 1", "gaussian:17,2": "gaussian K", "full": "full backprop"}
COLOURS = {"last:1": (214, 39, 40), "gaussian:17,2": (31, 119, 180), "full": (44, 160, 44)}


def ordered_runs(result):
    """(name, run) by reward (colorfulness first), then truncation as bench/alignprop runs them (K = 1, gaussian,
    full); the stored JSON sorts its keys."""
    order = {t: i for i, t in enumerate(TRUNCATION_LABELS)}
    return sorted(result["data"]["runs"].items(),
                  key=lambda kv: (kv[1]["reward"] != "colorfulness", order.get(kv[1]["truncation"], 9)))


def _runs(result, reward_prefix):
    return [(n, r) for n, r in ordered_runs(result) if r["reward"].startswith(reward_prefix)]


def target(result):
    return result["data"]["settings"]["target_class"]


def median_update(run, key="update_seconds"):
    return statistics.median(row[key] for row in run["log"])


def memory_ratio(result):
    m = result["data"]["memory"]
    return m["plain"]["peak_rss_mb"] / m["checkpointing"]["peak_rss_mb"]


def eval_row(result, name):
    return result["data"]["evaluation"][name]


def gain(result, name, reward):
    """The evaluated reward of a LoRA minus the base model's (same 64 seeds)."""
    return eval_row(result, name)[reward]["mean"] - eval_row(result, "base")[reward]["mean"]


def diversity_change(result, name):
    """Relative change of the judge-feature diversity against the base model."""
    return eval_row(result, name)["diversity"] / eval_row(result, "base")["diversity"] - 1


def render_alignprop(result):
    d = result["data"]
    s = d["settings"]
    c = target(result)
    lines = [f"| LoRA trained on | truncation | colorfulness | log p(class {c}) | judged class {c} | diversity | "
             "wall s / update | CPU s / update |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]

    def row(label, trunc, e, run):
        times = (f"{median_update(run):.1f} | {median_update(run, 'update_cpu_seconds'):.1f}" if run else "– | –")
        return (f"| {label} | {trunc} | {e['colorfulness']['mean']:.3f} ± {e['colorfulness']['std_error']:.3f} | "
                f"{e['classifier']['mean']:.2f} ± {e['classifier']['std_error']:.2f} | "
                f"{e['judged_target']}/{e['n']} | {e['diversity']:.3f} | {times} |")

    lines.append(row("none (base model)", "–", eval_row(result, "base"), None))
    for name, run in ordered_runs(result):
        reward = "colorfulness" if run["reward"] == "colorfulness" else f"classifier:{c}"
        lines.append(row(reward, TRUNCATION_LABELS.get(run["truncation"], run["truncation"]) + f" (`{run['truncation']}`)",
                         eval_row(result, name), run))
        half = name + "@0.5"
        if half in d["evaluation"]:
            lines.append(row(reward + ", at strength 0.5", TRUNCATION_LABELS.get(run["truncation"], run["truncation"])
                             + f" (`{run['truncation']}`)", eval_row(result, half), None))
    m = d["memory"]
    lines.append("")
    lines.append(f"{s['steps']} updates of {s['batch']} trajectories each ({s['sampling_steps']} DDIM steps, CFG "
                 f"{s['cfg_scale']}, LoRA r {s['lora_rank']} on the attention projections, AdamW lr {s['lr']:g}); "
                 f"evaluation: {s['eval_images']} images at seeds {s['eval_seed']}-{s['eval_seed'] + s['eval_images'] - 1} "
                 f"(classes cycling), mean ± standard error. Full backprop over {s['memory_steps']} updates peaks at "
                 f"{m['plain']['peak_rss_mb']:.0f} MB without per-step checkpointing and "
                 f"{m['checkpointing']['peak_rss_mb']:.0f} MB with it. {s['threads']} threads, nice 10; "
                 f"{C.day(result)}, {C.load_pair(result)}; {d['session_seconds'] / 60:.0f} min wall "
                 f"({d['session_cpu_seconds'] / 60:.0f} min CPU) in all.")
    return "\n".join(lines)


# --- figures --------------------------------------------------------------------------------------------------------

def _font(size):
    from PIL import ImageFont
    for path in ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"]:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def moving_average(values, window):
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1):i + 1]
        out.append(sum(part) / len(part))
    return out


def plot_curves(result, path, window=5):
    """Two panels (colorfulness, classifier:C): the training reward of every update, averaged over the last
    `window` updates (5 updates of 4 trajectories cover the 10 classes twice)."""
    from PIL import Image, ImageDraw
    c = target(result)
    panels = [("colorfulness", "colorfulness"), (f"classifier{c}", f"log p(class {c}) (classifier:{c})")]
    W, H, margin = 520, 360, 60
    img = Image.new("RGB", (W * len(panels), H + 40), "white")
    draw = ImageDraw.Draw(img)
    f, small = _font(14), _font(11)
    for p, (prefix, title) in enumerate(panels):
        runs = _runs(result, prefix.replace("classifier", "classifier:") if prefix.startswith("classifier") else prefix)
        series = [(r["truncation"], [row["step"] for row in r["log"]],
                   moving_average([row["reward"] for row in r["log"]], window)) for _, r in runs]
        if not series:
            continue
        ys = [y for _, _, v in series for y in v]
        lo, hi = min(ys), max(ys)
        pad = (hi - lo) * 0.08 or 0.01
        lo, hi = lo - pad, hi + pad
        steps = int(max(max(x) for _, x, _ in series))
        x0, y0, x1, y1 = p * W + margin, 30, p * W + W - 20, H - 30

        def X(v):
            return x0 + (x1 - x0) * (v - 1) / max(1, steps - 1)

        def Y(v):
            return y1 - (y1 - y0) * (v - lo) / (hi - lo)

        draw.rectangle([x0, y0, x1, y1], outline="black")
        draw.text((x0, 8), f"{title}: training reward, mean of the last {window} updates", fill="black", font=f)
        for k in range(5):
            v = lo + (hi - lo) * k / 4
            draw.line([x0 - 4, Y(v), x0, Y(v)], fill="black")
            draw.text((p * W + 4, Y(v) - 7), f"{v:.3f}" if abs(hi) < 10 else f"{v:.1f}", fill="black", font=small)
        for k in range(0, steps + 1, max(1, steps // 6)):
            if k >= 1:
                draw.line([X(k), y1, X(k), y1 + 4], fill="black")
                draw.text((X(k) - 6, y1 + 6), str(k), fill="black", font=small)
        draw.text(((x0 + x1) // 2 - 20, H - 4), "update", fill="black", font=small)
        for i, (trunc, xs, vs) in enumerate(series):
            colour = COLOURS.get(trunc, (0, 0, 0))
            draw.line([(X(x), Y(v)) for x, v in zip(xs, vs)], fill=colour, width=2)
            draw.line([x0 + 10, y0 + 12 + 16 * i, x0 + 30, y0 + 12 + 16 * i], fill=colour, width=3)
            draw.text((x0 + 36, y0 + 5 + 16 * i), TRUNCATION_LABELS.get(trunc, trunc) + f" ({trunc})", fill="black",
                      font=small)
    img.save(path)


def draw_grid(result, work, path, columns=10, scale=2):
    """Rows: the base model and every LoRA; columns: the first evaluation images (one per class), same seeds."""
    from PIL import Image, ImageDraw
    names = ["base"]
    for n, _ in ordered_runs(result):
        names += [n] + ([n + "@0.5"] if n + "@0.5" in result["data"]["evaluation"] else [])
    names = [n for n in names if os.path.exists(os.path.join(work, "eval", n, "img_00.png"))]
    if not names:
        return
    tile = 32 * scale
    label_w = 190
    img = Image.new("RGB", (label_w + columns * tile, len(names) * tile), "white")
    draw = ImageDraw.Draw(img)
    f = _font(12)
    for r, name in enumerate(names):
        run = result["data"]["runs"].get(name.split("@")[0])
        label = "base model" if run is None else f"{run['reward']}, {run['truncation']}" + (
            ", strength 0.5" if "@" in name else "")
        draw.text((6, r * tile + tile // 2 - 7), label, fill="black", font=f)
        for col in range(columns):
            p = os.path.join(work, "eval", name, f"img_{col:02d}.png")
            if os.path.exists(p):
                t = Image.open(p).convert("RGB").resize((tile, tile), Image.NEAREST)
                img.paste(t, (label_w + col * tile, r * tile))
    img.save(path)


# --- inline claims (scripts/check-claims) ----------------------------------------------------------------------------

RUN_NAMES = ["colorfulness_last1", "colorfulness_gaussian", "colorfulness_full",
             "classifier3_last1", "classifier3_gaussian", "classifier3_full"]


def claim(result, name, field):
    """The text of claim `alignprop.<name>.<field>` (name: base, a run, or a run with -half; see INLINE_FIELDS)."""
    d = result["data"]
    # "<run>-half": the run's LoRA evaluated at strength 0.5 (stored as "<run>@0.5").
    e = eval_row(result, name[:-5] + "@0.5" if name.endswith("-half") else name)
    if field == "colorfulness":
        return f"{e['colorfulness']['mean']:.3f}"
    if field == "classifier":
        return f"{e['classifier']['mean']:.2f}"
    if field == "judged":
        return f"{e['judged_target']}/{e['n']}"
    if field == "diversity":
        return f"{e['diversity']:.3f}"
    if field == "diversity-drop":
        return f"{-100 * diversity_change(result, name):.0f} %"
    run = d["runs"][name]
    if field == "wall":
        return f"{median_update(run):.1f}"
    if field == "cpu":
        return f"{median_update(run, 'update_cpu_seconds'):.1f}"
    if field == "train-first":
        return f"{moving_average([r['reward'] for r in run['log']], 5)[4]:.2f}"
    if field == "train-last":
        return f"{moving_average([r['reward'] for r in run['log']], 5)[-1]:.2f}"
    raise KeyError(field)


INLINE_FIELDS = {"base": ["colorfulness", "classifier", "judged", "diversity"],
                 "colorfulness_full-half": ["colorfulness", "classifier", "judged", "diversity"]}
for _n in RUN_NAMES:
    INLINE_FIELDS[_n] = ["colorfulness", "classifier", "judged", "diversity", "diversity-drop", "wall", "cpu",
                         "train-first", "train-last"]


def memory_claim(result, field):
    m = result["data"]["memory"]
    if field == "ratio":
        return f"{memory_ratio(result):.1f}x"
    if field.startswith("cpu-"):
        return f"{m[field[4:]]['median_update_cpu_seconds']:.1f}"
    return f"{m[field]['peak_rss_mb']:.0f} MB"
