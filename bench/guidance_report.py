#!/usr/bin/env python3
"""Table and comparison grid of bench/guidance from its work folder.

Reads raw/<cell>.jsonl (`tweedie generate --json`: per-image saturation, clipped_fraction, class) and
raw/classify.json (`tweedie classify --json`: predicted label per image); every number comes from Tweedie, this
script only joins and formats them. Cells are <method>_w<w>; `all_w1` stands for every method at w = 1.
"""
import argparse
import json
import math
import os
import sys

from PIL import Image, ImageDraw, ImageFont

METHODS = [("cfg", "CFG"), ("rescale", "CFG + rescale"), ("apg", "APG")]
SCALE_UP = 3  # 32x32 samples are drawn 3x larger (nearest neighbour) in the grid


def cell_name(method, w):
    return f"all_w{w}" if abs(float(w) - 1) < 1e-6 else f"{method}_w{w}"


def load_cell(work, name, predicted):
    lines = [json.loads(l) for l in open(os.path.join(work, "raw", name + ".jsonl")) if l.strip()]
    images = [l for l in lines if "summary" not in l]
    summary = next(l["summary"] for l in lines if "summary" in l)
    n = len(images)
    sat = [i["saturation"] for i in images]
    mean = sum(sat) / n
    sd = math.sqrt(sum((s - mean) ** 2 for s in sat) / (n - 1)) if n > 1 else 0.0
    correct = sum(predicted[os.path.realpath(i["path"])] == i["class"] for i in images)
    return {
        "n": n, "saturation": mean, "saturation_se": sd / math.sqrt(n),
        "clipped": sum(i["clipped_fraction"] for i in images) / n,
        "correct": correct, "seconds_per_image": summary["seconds"] / n,
        "paths": [i["path"] for i in images],
    }


def table(work, scales, predicted, settings, seconds):
    rows = ["| w | method | saturation | clipped | judge accuracy | s / image |", "|---:|---|---:|---:|---:|---:|"]
    cells = {}
    for w in scales:
        for method, title in METHODS:
            name = cell_name(method, w)
            if name not in cells:
                cells[name] = load_cell(work, name, predicted)
            elif name.startswith("all_"):
                continue
            c = cells[name]
            label = "all (conditional only)" if name.startswith("all_") else title
            rows.append(f"| {w} | {label} | {c['saturation']:.3f} ± {c['saturation_se']:.3f} | "
                        f"{100 * c['clipped']:.1f} % | {c['correct']}/{c['n']} ({100 * c['correct'] / c['n']:.0f} %) | "
                        f"{c['seconds_per_image']:.2f} |")
    out = [f"Guidance study: {settings}.", "", *rows, "",
           "saturation: mean HSV saturation of the PNGs (± standard error over images); clipped: share of pixel "
           "values outside [-1, 1] before quantisation; judge accuracy: images the classifier assigns to the "
           "class they were sampled for.", f"Total run time {seconds // 60} min {seconds % 60} s."]
    return "\n".join(out), cells


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def grid(cells, scales, indices, path):
    tile = 32 * SCALE_UP
    gap, pad, label_w, head_h = 4, 12, 130, 28
    cell_w = len(indices) * tile + (len(indices) - 1) * gap
    width = label_w + len(scales) * (cell_w + pad) + pad
    height = head_h + len(METHODS) * (tile + pad) + pad
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    f = font(16)
    for j, w in enumerate(scales):
        x = label_w + j * (cell_w + pad)
        draw.text((x + cell_w // 2, head_h // 2), f"w = {w}", fill=(0, 0, 0), font=f, anchor="mm")
    for r, (method, title) in enumerate(METHODS):
        y = head_h + r * (tile + pad)
        draw.text((pad, y + tile // 2), title, fill=(0, 0, 0), font=f, anchor="lm")
        for j, w in enumerate(scales):
            c = cells[cell_name(method, w)]
            for k, i in enumerate(indices):
                img = Image.open(c["paths"][i]).convert("RGB").resize((tile, tile), Image.NEAREST)
                canvas.paste(img, (label_w + j * (cell_w + pad) + k * (tile + gap), y))
    tmp = path + ".tmp"
    canvas.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--work", required=True)
    p.add_argument("--scales", required=True)
    p.add_argument("--grid-images", required=True)
    p.add_argument("--grid", required=True)
    p.add_argument("--settings", default="")
    p.add_argument("--seconds", type=int, default=0)
    a = p.parse_args()
    scales = a.scales.split(",")
    classified = json.load(open(os.path.join(a.work, "raw", "classify.json")))
    predicted = {os.path.realpath(i["path"]): i["label"] for i in classified["images"]}
    text, cells = table(a.work, scales, predicted, a.settings, a.seconds)
    grid(cells, scales, [int(i) for i in a.grid_images.split(",")], a.grid)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
