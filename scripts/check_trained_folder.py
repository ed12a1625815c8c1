#!/usr/bin/env python3
"""Proves a folder written by `tweedie train` is a valid diffusers model folder.

1. diffusers' UNet2DModel or DiTTransformer2DModel (by config.json's _class_name) .from_pretrained and
   DDPMScheduler.from_pretrained load it, with no missing or unexpected weights;
2. on a seeded random input (sample, timesteps, class labels when the model has a class table; a DiT's labels
   include its null class) its forward equals `tweedie forward` on the same folder, to a relative error
   (max |a - b| / max |b|) of at most 1e-4 (a learned-sigma DiT's variance channels included);
3. a few DDPMScheduler steps over the model's raw output run and stay finite (with variance_type learned_range
   diffusers reads a learned-sigma DiT's variance channels there).

Usage:  python scripts/check_trained_folder.py FOLDER [--tweedie PATH_TO_TWEEDIE] [--batch N]
Exit status 0 when both hold; prints the numbers either way.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--tweedie", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "tweedie"))
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from diffusers import DDPMScheduler, DiTTransformer2DModel, UNet2DModel
    with open(os.path.join(args.folder, "config.json")) as f:
        class_name = json.load(f)["_class_name"]
    dit = class_name in ("DiTTransformer2DModel", "Transformer2DModel")
    model_class = DiTTransformer2DModel if dit else UNet2DModel
    model = model_class.from_pretrained(args.folder, low_cpu_mem_usage=False).eval()
    # from_pretrained warns about strays; compare names ourselves so either direction fails loudly.
    saved = set(load_file(os.path.join(args.folder, "diffusion_pytorch_model.safetensors")).keys())
    expected = set(model.state_dict().keys())
    if saved != expected:
        print(f"weights: missing {sorted(expected - saved)[:5]}, unexpected {sorted(saved - expected)[:5]}")
        return 1
    scheduler = DDPMScheduler.from_pretrained(args.folder)
    print(f"loaded {model_class.__name__} ({sum(p.numel() for p in model.parameters())} parameters) and DDPMScheduler "
          f"(prediction_type {scheduler.config.prediction_type}, {scheduler.config.num_train_timesteps} steps)")
    labels_path = os.path.join(args.folder, "labels.json")
    if os.path.exists(labels_path):
        with open(labels_path) as f:
            labels = json.load(f)
        print(f"labels.json: {len(labels['labels'])} classes, null_class {labels['null_class']}")

    cfg = model.config
    g = torch.Generator().manual_seed(args.seed)
    size = cfg.sample_size if isinstance(cfg.sample_size, int) else cfg.sample_size[0]
    sample = torch.randn(args.batch, cfg.in_channels, size, size, generator=g)
    timestep = torch.tensor([float(t) for t in torch.randint(0, 1000, (args.batch,), generator=g)])
    io = {"sample": sample, "timestep": timestep}
    class_labels = None
    classes = cfg.num_embeds_ada_norm + 1 if dit else cfg.num_class_embeds
    if classes:
        class_labels = torch.randint(0, classes, (args.batch,), generator=g)
        io["class_labels"] = class_labels
    with torch.no_grad():
        if dit:
            reference = model(sample, timestep=timestep, class_labels=class_labels).sample
        else:
            reference = model(sample, timestep, class_labels=class_labels).sample

    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
        save_file({k: v.contiguous() for k, v in io.items()}, inp)
        run = subprocess.run([args.tweedie, "forward", "--model", args.folder, "--input", inp, "--output", out],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(f"tweedie forward failed ({run.returncode}): {run.stderr.strip()}")
            return 1
        ours = load_file(out)["sample"]
    err = (ours - reference).abs().max().item() / max(reference.abs().max().item(), 1e-30)
    print(f"forward vs tweedie forward: batch {args.batch}, max |diffusers| {reference.abs().max():.4f}, "
          f"relative error {err:.3e}")
    scheduler.set_timesteps(4)
    x = torch.randn(args.batch, cfg.in_channels, size, size, generator=g)
    with torch.no_grad():
        for t in scheduler.timesteps:
            ts = torch.full((args.batch,), float(t))
            if dit:
                out = model(x, timestep=ts, class_labels=class_labels).sample
            else:
                out = model(x, ts, class_labels=class_labels).sample
            x = scheduler.step(out, t, x, generator=g).prev_sample
    finite = bool(torch.isfinite(x).all())
    print(f"DDPMScheduler ({scheduler.config.variance_type}): 4 steps on the raw output, finite {finite}, "
          f"max |x| {x.abs().max():.3f}")
    return 0 if err <= 1e-4 and finite else 1


if __name__ == "__main__":
    sys.exit(main())
