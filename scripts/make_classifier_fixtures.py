#!/usr/bin/env python3
"""Reference fixtures for Tweedie's TweedieClassifier (Tests/TweedieTrainingTests/Fixtures/classifier/).

1. classifier/tiny/: a tiny TweedieClassifier (3x8x8 input, stages [4, 8] with two conv layers each, GroupNorm with
   2 groups, 3 classes) written from PyTorch with every parameter re-drawn (norm scales around 1, the rest around
   0), and io.safetensors holding images [4, 3, 8, 8], labels [4] (I64), logits = model(images),
   loss = cross_entropy(logits, labels) (shape [1]), grad_images and grad/<name> for every parameter.
   PyTorch autograd in float64 on the saved float32 weights (a more exact reference than float32).
2. classifier/png/test-<index>-label<k>.png: the first image of each class in the Fashion-MNIST test split,
   colourised with the class-linked-hue recipe v1 (colour seed 0) as TweedieTraining/Data/ClassLinkedHue.swift
   does, in float32, quantised like the engine's PNG writer.

Run from the repository root:  python scripts/make_classifier_fixtures.py
"""
import gzip
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TweedieTrainingTests", "Fixtures",
                    "classifier")
DATA = "/usr/share/datasets/fashion-mnist"
CONFIG = {"_class_name": "TweedieClassifier", "in_channels": 3, "sample_size": 8, "block_out_channels": [4, 8],
          "layers_per_block": 2, "norm_num_groups": 2, "norm_eps": 1e-5, "num_classes": 3,
          "class_names": ["a", "b", "c"]}


class Classifier(nn.Module):
    """stages.<i>.<j>.{conv,norm}: 3x3 conv -> GroupNorm -> SiLU; 2x2 average pool between stages; global average
    pool; linear head."""

    def __init__(self, c):
        super().__init__()
        self.stages = nn.ModuleList()
        channels = c["in_channels"]
        for out in c["block_out_channels"]:
            layers = nn.ModuleList()
            for _ in range(c["layers_per_block"]):
                layer = nn.Module()
                layer.conv = nn.Conv2d(channels, out, 3, padding=1)
                layer.norm = nn.GroupNorm(c["norm_num_groups"], out, eps=c["norm_eps"])
                layers.append(layer)
                channels = out
            self.stages.append(layers)
        self.head = nn.Linear(channels, c["num_classes"])

    def forward(self, x):
        for i, layers in enumerate(self.stages):
            for layer in layers:
                x = F.silu(layer.norm(layer.conv(x)))
            if i < len(self.stages) - 1:
                x = F.avg_pool2d(x, 2)
        return self.head(x.mean(dim=(2, 3)))


def tiny():
    torch.manual_seed(0)
    model = Classifier(CONFIG)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm.weight" in name:
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.4 * torch.randn(p.shape, generator=g))
    out = os.path.join(ROOT, "tiny")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2, sort_keys=True)
        f.write("\n")
    weights = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, os.path.join(out, "model.safetensors"))

    model = model.double()
    images = (torch.rand(4, 3, 8, 8, generator=g) * 2 - 1).float()
    labels = torch.tensor([0, 2, 1, 2], dtype=torch.int64)
    x = images.double().requires_grad_(True)
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    io = {"images": images, "labels": labels, "logits": logits.detach().float(),
          "loss": loss.detach().float().reshape(1), "grad_images": x.grad.float()}
    for name, p in model.named_parameters():
        io["grad/" + name] = p.grad.float().contiguous()
    save_file(io, os.path.join(out, "io.safetensors"))


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def uniform(seed, index):
    """TweedieCore's CounterRandom.uniform (SplitMix64 finaliser of seed + index * golden)."""
    m = (1 << 64) - 1
    z = (seed + index * 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    z ^= z >> 31
    return np.float32(z >> 40) * np.float32(1 / (1 << 24))


def hsv(h, s, v):
    f32 = np.float32
    h6 = h * f32(6)
    sector = np.floor(h6)
    f = h6 - sector
    p, q, t = v * (f32(1) - s), v * (f32(1) - s * f), v * (f32(1) - s * (f32(1) - f))
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][int(sector) % 6]


def colourise(grey, label, index, seed=0):
    f32 = np.float32
    u = [uniform(seed, 4 * index + j) for j in range(3)]
    h = f32(label) / f32(10) + f32(0.03) * (f32(2) * u[0] - f32(1))
    h -= np.floor(h)
    if h >= 1:
        h = f32(0)
    s = f32(0.55) + (f32(0.95) - f32(0.55)) * u[1]
    v = f32(0.8) + (f32(1.0) - f32(0.8)) * u[2]
    unit = np.array(hsv(h, s, f32(1)), dtype=np.float32)
    img = np.full((32, 32, 3), -1, dtype=np.float32)
    val = v * grey.astype(np.float32) / f32(255)
    img[2:30, 2:30, :] = f32(2) * (unit[None, None, :] * val[:, :, None]) - f32(1)
    return np.round(np.clip(img * f32(0.5) + f32(0.5), 0, 1) * 255).astype(np.uint8)


def pngs():
    images = idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))
    labels = idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"))
    out = os.path.join(ROOT, "png")
    os.makedirs(out, exist_ok=True)
    for k in range(10):
        i = int(np.nonzero(labels == k)[0][0])
        Image.fromarray(colourise(images[i], k, i)).save(os.path.join(out, f"test-{i:04d}-label{k}.png"))


if __name__ == "__main__":
    tiny()
    pngs()
