#!/usr/bin/env python3
"""Reference images of a new concept for `tweedie invert`: Fashion-MNIST garments of one class coloured with a hue
that class never had under the fashion32 data recipe (class-linked-hue-v1, Sources/TweedieData/ClassLinkedHue.swift).

The recipe colours class k at hue k/10 (jitter ±0.03): a Bag (8) is magenta (0.77-0.83). Here every image gets hue
`--hue` instead (default 0.35, green: between Dress at 0.30 and Coat at 0.40, a hue no class had, since the class
bands end at 0.33 and 0.37), with the recipe's own saturation (0.55-0.95) and value scale (0.8-1.0) drawn per image,
the same 2-pixel black border to 32x32 and the same hexcone HSV -> RGB of value * grey / 255. Images come from the
test split (not seen in training), the first `--count` of the class from `--offset` on.

  scripts/make_concept_images.py --out bench/.work/invert/green-bag [--class 8] [--hue 0.35] [--count 6]

Needs numpy and Pillow; reads /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
"""
import argparse
import colorsys
import gzip
import os
import struct

import numpy as np
from PIL import Image

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = [struct.unpack(">I", data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--class", dest="label", type=int, default=8)
    ap.add_argument("--hue", type=float, default=0.35)
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=DATA)
    a = ap.parse_args()
    images = idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))
    labels = idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"))
    chosen = np.flatnonzero(labels == a.label)[a.offset:a.offset + a.count]
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    for n, i in enumerate(chosen):
        s = 0.55 + 0.40 * rng.random()
        v = 0.8 + 0.2 * rng.random()
        r, g, b = colorsys.hsv_to_rgb(a.hue % 1.0, s, 1.0)   # HSV -> RGB is linear in value
        grey = np.pad(images[i].astype(np.float32) / 255.0, 2) * v
        rgb = np.stack([grey * r, grey * g, grey * b], axis=-1)
        Image.fromarray(np.round(rgb * 255).clip(0, 255).astype(np.uint8), "RGB").save(
            os.path.join(a.out, f"ref_{n:02d}.png"))
    print(f"{len(chosen)} images of class {a.label} at hue {a.hue} (test indices {', '.join(map(str, chosen))}) "
          f"-> {a.out}")


if __name__ == "__main__":
    main()
