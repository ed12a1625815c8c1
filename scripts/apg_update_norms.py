#!/usr/bin/env python3
"""Size of the guidance update along sampling trajectories, to pick APG's norm threshold r for a model.

Runs diffusers' UNet2DModel from a class-conditional folder (default assets/fashion32) along CFG-guided Euler
ancestral trajectories over the DDPM sigmas of `steps` leading-spaced timesteps, and prints per step the median and
maximum over the batch of ||D(x, c) - D(x, null)|| (x0 space, per sample) and of the same difference after APG's
reverse momentum (running = diff + beta * running). bench/guidance's r = 4 comes from this table: for fashion32 it
caps the large updates of the first 8 of 20 steps and leaves the later steps untouched.

Usage:  python scripts/apg_update_norms.py [--model DIR] [--batch 20] [--steps 20] [--scale 5] [--momentum -0.5]
"""
import argparse
import json
import os

import torch
from diffusers import DDPMScheduler, UNet2DModel


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(root, "assets", "fashion32"))
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--scale", type=float, default=5.0)
    p.add_argument("--momentum", type=float, default=-0.5)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.manual_seed(a.seed)
    model = UNet2DModel.from_pretrained(a.model).eval()
    scheduler = DDPMScheduler.from_pretrained(a.model)
    labels = json.load(open(os.path.join(a.model, "labels.json")))
    n, classes = a.batch, len(labels["labels"])
    cond = torch.arange(n) % classes
    null = torch.full((n,), labels["null_class"])

    ac = scheduler.alphas_cumprod.double()
    train_steps = scheduler.config.num_train_timesteps
    timesteps = list(range(0, train_steps, train_steps // a.steps))[::-1]  # "leading" spacing
    sigmas = [float(((1 - ac[t]) / ac[t]).sqrt()) for t in timesteps] + [0.0]

    def denoise(x, t, sigma, labels_):
        inp = (x / (sigma ** 2 + 1) ** 0.5).float()
        with torch.no_grad():
            eps = model(inp, torch.full((n,), t), class_labels=labels_).sample.double()
        return x - sigma * eps

    x = torch.randn(n, 3, model.config.sample_size, model.config.sample_size, dtype=torch.float64) * sigmas[0]
    running = None
    print(f"{'step':>4} {'sigma':>8} {'|dD| median':>12} {'max':>7} {'momentum median':>16} {'max':>7}")
    for i, t in enumerate(timesteps):
        sigma, nxt = sigmas[i], sigmas[i + 1]
        dc, du = denoise(x, t, sigma, cond), denoise(x, t, sigma, null)
        diff = dc - du
        running = diff if running is None else diff + a.momentum * running
        nd, nm = diff.flatten(1).norm(dim=1), running.flatten(1).norm(dim=1)
        print(f"{i:4d} {sigma:8.3f} {nd.median():12.2f} {nd.max():7.2f} {nm.median():16.2f} {nm.max():7.2f}")
        guided = du + a.scale * diff
        up = min(nxt, (nxt ** 2 * (sigma ** 2 - nxt ** 2) / sigma ** 2) ** 0.5)
        down = (nxt ** 2 - up ** 2) ** 0.5
        x = x + (x - guided) / sigma * (down - sigma) + torch.randn_like(x) * up


if __name__ == "__main__":
    main()
