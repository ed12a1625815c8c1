#!/usr/bin/env python3
"""Reference fixtures for Tests/TweedieOperatorsTests, computed independently in numpy, scipy and scikit-image.

    python3 scripts/make_operator_fixtures.py      # needs numpy, scipy, scikit-image (pip install scikit-image)

Writes Tests/TweedieOperatorsTests/Fixtures/operators.safetensors (float32 tensors; complex values as *_re / *_im
pairs). The Swift tests recompute everything from the stored inputs and compare; they never run Python.

- fft2c: numpy's fftshift(fft2(ifftshift(x), norm="ortho")) on a complex 24x20 and a 15x9 array (odd sizes check
  the shift conventions), and ifft2c.
- masks: SplitMix64 (replayed here) drives uniform1d/gaussian1d column draws without replacement, the 2-D
  variable-density Poisson disc and the inpainting masks; the Swift masks must match bit for bit.
- MRI single- and multi-coil: M * fft2c(S_c x) and its adjoint, with sigpy's birdcage formula for the coil maps.
- CT: skimage.transform.radon(x, theta, circle=False) at 8 and 30 views; the adjoint reference is the transpose of
  the explicit matrix whose columns are radon(e_i).
- Deblur: scipy.ndimage.convolve / correlate with mode="wrap" (circular), kernels rebuilt from their definitions.
- Super-resolution: reshape-mean and its transpose.
- SSIM: skimage.metrics.structural_similarity of a blurred image against the original.
"""
import json
import math
import os
import struct

import numpy as np
import scipy.ndimage as ndi
from skimage.metrics import structural_similarity
from skimage.transform import radon

MASK64 = (1 << 64) - 1
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TweedieOperatorsTests", "Fixtures",
                   "operators.safetensors")


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self):
        return float(self.next() >> 11) * 2.0 ** -53

    def index(self, n):
        return min(n - 1, int(self.uniform() * n))


def acs_start(size, n):
    return (size - n + 1) // 2


def column_mask(width, acc, cf, gaussian, rng):
    total, low = width // acc, int(width * cf)
    mask = np.zeros(width)
    s = acs_start(width, low)
    mask[s:s + low] = 1
    cand = [j for j in range(width) if mask[j] == 0]
    draws = total - low
    if gaussian:
        centre, sd = float(width // 2), width / 6
        weights = [math.exp(-(j - centre) ** 2 / (2 * sd * sd)) for j in cand]
        for _ in range(draws):
            total_w = 0.0
            for w in weights:
                total_w += w
            target = rng.uniform() * total_w
            acc_w, pick = 0.0, len(weights) - 1
            for k, w in enumerate(weights):
                acc_w += w
                if target < acc_w:
                    pick = k
                    break
            mask[cand[pick]] = 1
            del cand[pick], weights[pick]
    else:
        for k in range(draws):
            j = k + rng.index(len(cand) - k)
            cand[k], cand[j] = cand[j], cand[k]
            mask[cand[k]] = 1
    return mask


def mask_1d(h, w, acc, gaussian, seed, cf=0.08):
    return np.tile(column_mask(w, acc, cf, gaussian, SplitMix64(seed)), (h, 1))


def poisson_disc(h, w, acc, seed, cf=0.08, growth=1.0):
    rng = SplitMix64(seed)
    total = h * w // acc
    lh, lw = int(h * cf), int(w * cf)
    sy, sx = acs_start(h, lh), acs_start(w, lw)
    acs = [i * w + j for i in range(sy, sy + lh) for j in range(sx, sx + lw)]
    acs_set = set(acs)
    order = [p for p in range(h * w) if p not in acs_set]
    for k in range(len(order) - 1):
        j = k + rng.index(len(order) - k)
        order[k], order[j] = order[j], order[k]
    need = total - len(acs)
    cy, cx = float(h // 2), float(w // 2)
    g2 = np.zeros(h * w)
    for i in range(h):
        for j in range(w):
            dy, dx = (i - cy) / (h / 2), (j - cx) / (w / 2)
            g = 1 + growth * math.sqrt(dy * dy + dx * dx)
            g2[i * w + j] = g * g

    def run(r0, limit):
        ys = np.array([float(p // w) for p in acs] + [0.0] * (h * w))
        xs = np.array([float(p % w) for p in acs] + [0.0] * (h * w))
        n = len(acs)
        accepted = []
        r2 = r0 * r0
        for p in order:
            py, px = float(p // w), float(p % w)
            reach = r2 * g2[p]
            dy, dx = ys[:n] - py, xs[:n] - px
            if not np.any(dy * dy + dx * dx < reach):
                accepted.append(p)
                ys[n], xs[n] = py, px
                n += 1
                if len(accepted) >= limit:
                    break
        return accepted

    lo, hi = 0.4, float(max(h, w))
    for _ in range(30):
        mid = (lo + hi) / 2
        if len(run(mid, need)) >= need:
            lo = mid
        else:
            hi = mid
    mask = np.zeros(h * w)
    mask[acs] = 1
    mask[run(lo, need)] = 1
    return mask.reshape(h, w)


def inpaint_mask(kind, h, w, missing, seed):
    m = np.ones(h * w)
    if kind == "box":
        side = math.sqrt(missing)
        bh, bw = int(round(side * h)), int(round(side * w))
        top, left = (h - bh) // 2, (w - bw) // 2
        m = m.reshape(h, w)
        m[top:top + bh, left:left + bw] = 0
        return m
    rng, order = SplitMix64(seed), list(range(h * w))
    for k in range(int(round(missing * h * w))):
        j = k + rng.index(len(order) - k)
        order[k], order[j] = order[j], order[k]
        m[order[k]] = 0
    return m.reshape(h, w)


def fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x), norm="ortho"))


def ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x), norm="ortho"))


def birdcage(coils, h, w, r=1.5):
    c, y, x = np.mgrid[:coils, :h, :w].astype(np.float64)
    coilx, coily = r * np.cos(c * (2 * np.pi / coils)), r * np.sin(c * (2 * np.pi / coils))
    phase = -c * (2 * np.pi / coils)
    xc = (x - w / 2.0) / (w / 2.0) - coilx
    yc = (y - h / 2.0) / (h / 2.0) - coily
    rr = np.sqrt(xc ** 2 + yc ** 2)
    out = (1.0 / rr) * np.exp(1j * (np.arctan2(xc, -yc) + phase))
    return out / np.sqrt(np.sum(np.abs(out) ** 2, axis=0))


def gaussian_kernel(sigma, size=None):
    n = size or 2 * math.ceil(3 * sigma) + 1
    c = n // 2
    i, j = np.mgrid[:n, :n].astype(np.float64)
    k = np.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma))
    return k / k.sum()


def motion_kernel(length, angle):
    half = math.ceil(length / 2)
    n, c = 2 * half + 1, float(half)
    points = 4 * math.ceil(length) + 1
    cs, sn = math.cos(angle * math.pi / 180), math.sin(angle * math.pi / 180)
    k = np.zeros((n, n))
    for t in np.linspace(-length / 2, length / 2, points):
        y, x = c - t * sn, c + t * cs
        y0, x0 = math.floor(y), math.floor(x)
        dy, dx = y - y0, x - x0
        for yy, wy in ((y0, 1 - dy), (y0 + 1, dy)):
            for xx, wx in ((x0, 1 - dx), (x0 + 1, dx)):
                if 0 <= yy < n and 0 <= xx < n:
                    k[yy, xx] += wy * wx
    return k / k.sum()


def smooth_image(h, w, seed):
    """A smooth, non-negative test image with structure up to the border (so CT sees the corners too)."""
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.standard_normal((h, w)), 1.5, mode="wrap")
    img += 0.5 * (np.mgrid[:h, :w][0] / h)
    return img


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(np.asarray(tensors[name], dtype=np.float32))
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    t = {}
    rng = np.random.default_rng(11)
    for name, (h, w) in {"fft_even": (24, 20), "fft_odd": (15, 9)}.items():
        z = rng.standard_normal((h, w)) + 1j * rng.standard_normal((h, w))
        t[f"{name}_x_re"], t[f"{name}_x_im"] = z.real, z.imag
        f, g = fft2c(z), ifft2c(z)
        t[f"{name}_fwd_re"], t[f"{name}_fwd_im"] = f.real, f.imag
        t[f"{name}_inv_re"], t[f"{name}_inv_im"] = g.real, g.imag

    h = w = 32
    x = smooth_image(h, w, 3)
    t["image"] = x
    masks = {"uniform1d_x4": mask_1d(h, w, 4, False, 7), "uniform1d_x8": mask_1d(h, w, 8, False, 7),
             "gaussian1d_x4": mask_1d(h, w, 4, True, 7), "gaussian1d_x8": mask_1d(h, w, 8, True, 7),
             "poisson2d_x4": poisson_disc(h, w, 4, 7), "poisson2d_x8": poisson_disc(h, w, 8, 7)}
    for name, m in masks.items():
        t[f"mask_{name}"] = m
        y = m * fft2c(x)
        t[f"mri_{name}_y_re"], t[f"mri_{name}_y_im"] = y.real, y.imag
        t[f"mri_{name}_adj"] = np.real(ifft2c(m * fft2c(x)))

    maps = birdcage(4, h, w)
    t["maps_re"], t["maps_im"] = maps.real, maps.imag
    m = masks["uniform1d_x4"]
    k = m * fft2c(maps * x)
    t["mc_y_re"], t["mc_y_im"] = k.real, k.imag
    kk = rng.standard_normal((4, h, w)) + 1j * rng.standard_normal((4, h, w))
    t["mc_k_re"], t["mc_k_im"] = kk.real, kk.imag
    adj = np.sum(np.conj(maps) * ifft2c(m * kk), axis=0)
    t["mc_adj_re"], t["mc_adj_im"] = adj.real, adj.imag

    for views in (8, 30):
        theta = np.linspace(0, 180, views, endpoint=False)
        sino = radon(x, theta=theta, circle=False)
        t[f"ct{views}_sino"] = sino
    theta = np.linspace(0, 180, 8, endpoint=False)
    cols = [radon(e.reshape(h, w), theta=theta, circle=False).ravel() for e in np.eye(h * w)]
    matrix = np.stack(cols, axis=1)
    ysino = rng.standard_normal(matrix.shape[0])
    t["ct8_y"] = ysino.reshape(-1, 8)
    t["ct8_adj"] = (matrix.T @ ysino).reshape(h, w)

    for name, kern in {"gauss": gaussian_kernel(2.0), "motion": motion_kernel(7, 30)}.items():
        t[f"blur_{name}_kernel"] = kern
        t[f"blur_{name}_y"] = ndi.convolve(x, kern, mode="wrap")
        t[f"blur_{name}_adj"] = ndi.correlate(x, kern, mode="wrap")

    for s in (2, 4):
        t[f"sr{s}_y"] = x.reshape(h // s, s, w // s, s).mean(axis=(1, 3))
        low = rng.standard_normal((h // s, w // s))
        t[f"sr{s}_low"] = low
        t[f"sr{s}_adj"] = np.kron(low, np.ones((s, s))) / (s * s)

    t["inpaint_box"] = inpaint_mask("box", h, w, 0.25, 5)
    t["inpaint_random"] = inpaint_mask("random", h, w, 0.5, 5)

    # SSIM on the blurred image, as the reconstruct report computes it (data range 1, images in [0, 1]).
    a = (x - x.min()) / (x.max() - x.min())
    b = np.clip(ndi.convolve(a, t["blur_gauss_kernel"], mode="wrap"), 0, 1)
    t["ssim_a"], t["ssim_b"] = a.astype(np.float32), b.astype(np.float32)
    t["ssim_value"] = np.array([structural_similarity(
        t["ssim_a"].astype(np.float64), t["ssim_b"].astype(np.float64), data_range=1.0, gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False)])
    write_safetensors(OUT, t)
    print(f"wrote {OUT}: {len(t)} tensors")


if __name__ == "__main__":
    main()
