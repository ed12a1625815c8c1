#!/usr/bin/env python3
"""Reference fixtures for TweedieImagingTests.

Writes small PNGs made by PIL (text chunks of every kind, 16-bit gray, palette) to
Tests/TweedieImagingTests/Fixtures/ and prints reference numbers that the tests paste:
  * SSIM / PSNR from skimage.metrics on images built by a 32-bit LCG that the Swift test reproduces exactly
    (every value is an integer / 2**24, exact in float32 and float64);
  * diffusers' VaeImageProcessor.postprocess bytes for float32 inputs that land exactly on a .5 tie.
Run from the repository root: python3 scripts/make_imaging_fixtures.py
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

OUT = os.path.join("Tests", "TweedieImagingTests", "Fixtures")

# Text stored by PIL: tEXt for Latin-1 values, iTXt for other Unicode, zTXt / compressed iTXt when asked.
PARAMETERS = "a watercolor fox, highly detailed\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7"


def pil_text_fixture():
    w, h = 4, 3
    px = np.zeros((h, w, 3), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            px[y, x] = (x * 60 + 7, y * 100 + 3, (x * 31 + y * 17) % 256)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", PARAMETERS)                      # tEXt
    info.add_text("Comment", "caf\u00e9 au lait")                # tEXt, Latin-1 byte 0xE9
    info.add_text("Title", "\u72d0 \u2014 fox")                  # iTXt (not Latin-1)
    info.add_text("Packed", "zlib " * 40, zip=True)              # zTXt
    info.add_itxt("PackedUnicode", "\u00fcber " * 30 + "\u72d0", zip=True)  # compressed iTXt
    info.add_text("PackedJSON", packed_json(), zip=True)        # zTXt large enough for dynamic Huffman blocks
    # zTXt holding a stored (uncompressed) deflate block, which PIL never writes itself.
    info.add(b"zTXt", b"Stored\0\0" + zlib.compress(b"stored deflate block", level=0))
    Image.fromarray(px, "RGB").save(os.path.join(OUT, "pil_text_rgb.png"), pnginfo=info)
    return px


def packed_json():
    return "{" + ", ".join(f'"k{i}": [{i * i % 97}, {i * 7919 % 1000}, "v{i ** 3 % 13}"]' for i in range(300)) + "}"


def pil_16bit_fixture():
    vals = np.array([[0, 257, 65535], [32768, 1000, 40000]], dtype=np.uint16)
    Image.fromarray(vals).save(os.path.join(OUT, "pil_gray16.png"))
    return vals


def pil_palette_fixture():
    img = Image.new("P", (2, 2))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    img.putdata([0, 1, 2, 1])
    img.save(os.path.join(OUT, "pil_palette.png"))


def lcg_images(seed_a, seed_b, shape):
    """Image a: LCG values / 2**24; image b: a plus a bounded integer perturbation, clipped to [0, 2**24 - 1]."""
    n = int(np.prod(shape))
    sa, sb = seed_a, seed_b
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    for i in range(n):
        sa = (sa * 1664525 + 1013904223) & 0xFFFFFFFF
        sb = (sb * 1664525 + 1013904223) & 0xFFFFFFFF
        ai = sa >> 8
        d = ((sb >> 8) % (1 << 21)) - (1 << 20)
        a[i] = ai
        b[i] = min(max(ai + d, 0), (1 << 24) - 1)
    return (a / 2.0**24).reshape(shape), (b / 2.0**24).reshape(shape)


def metric_references():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    a, b = lcg_images(12345, 678, (2, 16, 13))
    ssim = structural_similarity(a, b, channel_axis=0, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=1.0)
    psnr = peak_signal_noise_ratio(a, b, data_range=1.0)
    mse = float(np.mean((a - b) ** 2))
    # A smooth image against a shifted copy: SSIM well below 1 through the structure term.
    y, x = np.mgrid[0:12, 0:12]
    smooth = ((x * 7 + y * 3) % 16) / 16.0
    shifted = np.roll(smooth, 1, axis=1)
    ssim2 = structural_similarity(smooth, shifted, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=2.0)
    print(f"SSIM lcg(12345, 678) [2,16,13] range 1: {ssim!r}")
    print(f"PSNR lcg(12345, 678) range 1: {psnr!r}")
    print(f"MSE  lcg(12345, 678): {mse!r}")
    print(f"SSIM smooth vs roll(1, axis=W) [12,12] range 2: {ssim2!r}")


def rounding_references():
    """float32 x with (x*0.5+0.5)*255 exactly k + 0.5: NumPy's round goes to even, half-away would not."""
    import torch
    from diffusers.image_processor import VaeImageProcessor
    xs = []
    for k in range(0, 255):
        v = np.float32((k + 0.5) / 255.0)
        x = np.float32((v - np.float32(0.5)) / np.float32(0.5))
        y = (x * np.float32(0.5) + np.float32(0.5)) * np.float32(255)
        if y == np.float32(k + 0.5):
            xs.append(x)
        if len(xs) == 6:
            break
    xs += [np.float32(-1.0), np.float32(1.0), np.float32(-1.5), np.float32(2.0), np.float32(0.0)]
    t = torch.tensor(np.array(xs, dtype=np.float32)).reshape(1, 1, 1, -1)
    out = VaeImageProcessor(do_normalize=True).postprocess(t, output_type="np")
    bytes_ = (out * 255).round().astype("uint8").reshape(-1)
    bits = [struct.unpack("<I", struct.pack("<f", float(x)))[0] for x in xs]
    print("rounding inputs (float32 bits):", ", ".join(f"0x{b:08X}" for b in bits))
    print("rounding diffusers bytes:", ", ".join(str(int(b)) for b in bytes_))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    pil_text_fixture()
    print("PackedJSON length:", len(packed_json()), "tail:", packed_json()[-40:])
    pil_16bit_fixture()
    pil_palette_fixture()
    metric_references()
    rounding_references()
