#!/usr/bin/env python3
"""The diffusers peer of `tweedie generate` for bench/generate: a class-conditional UNet2DModel folder sampled with
DDIM and classifier-free guidance as a diffusers pipeline's __call__ runs it (one batched pass for the conditional
and unconditional halves, CFG on eps, scheduler.step), then the images written as PNGs through PIL.

Prints one JSON line: pipeline_seconds (loaded model to written PNGs) and load_seconds.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from diffusers import DDIMScheduler, UNet2DModel
from PIL import Image


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--cfg-scale", type=float, default=3.0)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    unet = UNet2DModel.from_pretrained(a.model).eval()
    scheduler = DDIMScheduler.from_pretrained(a.model)
    null = json.load(open(os.path.join(a.model, "labels.json")))["null_class"]
    classes = null
    t1 = time.perf_counter()
    with torch.inference_mode():
        g = torch.Generator().manual_seed(a.seed)
        size, ch = unet.config.sample_size, unet.config.in_channels
        x = torch.randn((a.images, ch, size, size), generator=g)
        labels = torch.arange(a.images) % classes
        both = torch.cat([labels, torch.full_like(labels, null)])
        scheduler.set_timesteps(a.steps)
        for t in scheduler.timesteps:
            eps = unet(torch.cat([x, x]), t, class_labels=both).sample
            cond, uncond = eps.chunk(2)
            x = scheduler.step(uncond + a.cfg_scale * (cond - uncond), t, x).prev_sample
        images = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    os.makedirs(a.out, exist_ok=True)
    for i, im in enumerate(images):
        Image.fromarray(np.ascontiguousarray(im)).save(os.path.join(a.out, f"{i:02d}.png"))
    t2 = time.perf_counter()
    print(json.dumps({"pipeline_seconds": t2 - t1, "load_seconds": t1 - t0}))


if __name__ == "__main__":
    main()
