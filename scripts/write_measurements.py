#!/usr/bin/env python3
"""Write MRI measurements for `tweedie reconstruct --measurements FILE` from numpy.

Layout (safetensors, every tensor float32):
  kspace_real, kspace_imag     [H, W] single-coil or [C, H, W] multi-coil: centred orthonormal k-space
                               (fftshift(fft2(ifftshift(image), norm="ortho"))) of the image in the prior's
                               range [-1, 1] (image01 * 2 - 1), zero where not sampled
  mask                         [H, W], 1 where k-space was sampled, else 0
  coil_maps_real, coil_maps_imag   [C, H, W], required with multi-coil k-space
  target                       [H, W] optional ground truth in [0, 1], for the report's PSNR and SSIM

Use `write_measurements(path, kspace, mask, coil_maps=None, target=None)` from your own code, or simulate a file
from a grey PNG:

    python3 scripts/write_measurements.py --image gt.png --acceleration 4 [--coils 4] -o y.safetensors

(needs numpy and Pillow; the simulated mask is uniform1d with an 8 % ACS block, the coil maps sigpy's birdcage
formula, as `tweedie reconstruct` draws them).
"""
import argparse
import json
import struct

import numpy as np


def write_measurements(path, kspace, mask, coil_maps=None, target=None):
    """Writes complex `kspace` ([H, W] or [C, H, W]), real 0/1 `mask` [H, W], optional complex `coil_maps`
    [C, H, W] and optional `target` [H, W] in [0, 1]."""
    kspace = np.asarray(kspace)
    tensors = {"kspace_real": kspace.real, "kspace_imag": kspace.imag, "mask": np.asarray(mask)}
    if kspace.ndim == 3 and coil_maps is None:
        raise ValueError("multi-coil k-space needs coil_maps")
    if coil_maps is not None:
        coil_maps = np.asarray(coil_maps)
        tensors["coil_maps_real"], tensors["coil_maps_imag"] = coil_maps.real, coil_maps.imag
    if target is not None:
        tensors["target"] = np.asarray(target)
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(tensors[name])),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def birdcage(coils, h, w, r=1.5):
    c, y, x = np.mgrid[:coils, :h, :w].astype(np.float64)
    xc = (x - w / 2.0) / (w / 2.0) - r * np.cos(c * 2 * np.pi / coils)
    yc = (y - h / 2.0) / (h / 2.0) - r * np.sin(c * 2 * np.pi / coils)
    out = np.exp(1j * (np.arctan2(xc, -yc) - c * 2 * np.pi / coils)) / np.sqrt(xc ** 2 + yc ** 2)
    return out / np.sqrt(np.sum(np.abs(out) ** 2, axis=0))


def uniform1d(h, w, acc, seed, cf=0.08):
    total, low = w // acc, int(w * cf)
    cols = np.zeros(w)
    start = (w - low + 1) // 2
    cols[start:start + low] = 1
    rest = np.flatnonzero(cols == 0)
    cols[np.random.default_rng(seed).choice(rest, total - low, replace=False)] = 1
    return np.tile(cols, (h, 1))


def main():
    from PIL import Image
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", required=True, help="grey PNG, the prior's size")
    ap.add_argument("--acceleration", type=int, default=4)
    ap.add_argument("--coils", type=int, default=0, help="0: single-coil")
    ap.add_argument("--noise-sigma", type=float, default=0.0, help="k-space noise per real component")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    image = np.asarray(Image.open(a.image).convert("L"), dtype=np.float64) / 255
    h, w = image.shape
    mask = uniform1d(h, w, a.acceleration, a.seed)
    x = 2 * image - 1
    maps = birdcage(a.coils, h, w) if a.coils > 0 else None
    k = fft2c(maps * x) if maps is not None else fft2c(x)
    rng = np.random.default_rng(a.seed + 1)
    k = (k + a.noise_sigma * (rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape))) * mask
    write_measurements(a.output, k, mask, coil_maps=maps, target=image)
    print(f"wrote {a.output}: k-space {list(k.shape)}, {int(mask[0].sum())} of {w} columns")


if __name__ == "__main__":
    main()
