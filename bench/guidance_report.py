#!/usr/bin/env python3
"""Stored result, table and comparison grid of bench/guidance from its work folder.

Reads raw/<cell>.jsonl (`tweedie generate --json`: per-image saturation, clipped_fraction, class) and
raw/classify.json (`tweedie classify --json`: predicted label per image); every number comes from Tweedie, this
script only joins them into bench/results/<name>.json (per cell and per image) and prints the table with
claims.render_guidance, the renderer scripts/check-claims checks the README with. Cells are <method>_w<w>;
`all_w1` stands for every method at w = 1.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import claims  # noqa: E402

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
    per_image = [{"index": i["index"], "seed": i["seed"], "class": i["class"], "saturation": i["saturation"],
                  "clipped_fraction": i["clipped_fraction"], "predicted": predicted[os.path.realpath(i["path"])]}
                 for i in images]
    return {
        "n": n, "saturation": mean, "saturation_se": sd / math.sqrt(n),
        "clipped": sum(i["clipped_fraction"] for i in images) / n,
        "correct": sum(i["predicted"] == i["class"] for i in per_image),
        "seconds": summary["seconds"], "images": per_image,
        "paths": [i["path"] for i in images],
    }


def cells_of(work, scales, predicted):
    cells = {}
    for w in scales:
        for method, _ in METHODS:
            name = cell_name(method, w)
            if name not in cells and os.path.exists(os.path.join(work, "raw", name + ".jsonl")):
                cells[name] = load_cell(work, name, predicted)
    return cells


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
            c = cells.get(cell_name(method, w))
            if c is None:
                continue
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
    p.add_argument("--cpu-seconds", type=float, default=0)
    p.add_argument("--result", default="guidance")
    p.add_argument("--command", default="bench/guidance")
    p.add_argument("--tweedie")
    p.add_argument("--load-before")
    a = p.parse_args()
    scales = a.scales.split(",")
    classified = json.load(open(os.path.join(a.work, "raw", "classify.json")))
    predicted = {os.path.realpath(i["path"]): i["class"] for i in classified["images"]}
    cells = cells_of(a.work, scales, predicted)
    grid(cells, scales, [int(i) for i in a.grid_images.split(",")], a.grid)
    data = {"scales": scales, "settings": a.settings, "seconds": a.seconds, "cpu_seconds": round(a.cpu_seconds, 1),
            "grid": os.path.relpath(a.grid, claims.ROOT),
            "cells": {k: {x: v for x, v in c.items() if x != "paths"} for k, c in cells.items()}}
    claims.write_result(a.result, data, a.command, tweedie=a.tweedie, load_before=a.load_before)
    print(claims.render_guidance(claims.read_result(a.result)))


if __name__ == "__main__":
    sys.exit(main())
