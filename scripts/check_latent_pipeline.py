#!/usr/bin/env python3
"""Proves a latent pipeline folder written by `tweedie train` (a recipe with "vae") is a diffusers pipeline that
samples what Tweedie samples.

1. The autoencoder: diffusers' AutoencoderKL.from_pretrained loads FOLDER/vae (and --vae DIR, a VAE folder alone,
   e.g. a `tweedie train` AutoencoderKL export) with no missing or unexpected weights; on seeded images in [-1, 1]
   its latent_dist.mean equals `tweedie forward --encode`, and on seeded latents its decode equals
   `tweedie forward --decode`.
2. DiTPipeline.from_pretrained loads FOLDER (transformer/, vae/, scheduler/, id2label) with no missing weights.
3. Sampling from the same unit-noise latents (stored in a file, given to `tweedie generate --latents`):
   a. without guidance: DiTPipeline itself (its randn_tensor returning the stored latents, the scheduler swapped
      for DDIMScheduler.from_config, guidance_scale 1, so its hard-coded null label 1000 is never used) against
      `tweedie generate --sampler ddim --guidance none`;
   b. with classifier-free guidance: DiTPipeline's loop written out (DDIMScheduler, the batch doubled with the
      null class the folder's transformer/labels.json names, eps = u + w (c - u)), since DiTPipeline hard-codes
      ImageNet's null label 1000, against `tweedie generate --cfg-scale W`.
   Both compare the final latents (`--save-tensor`) and the 8-bit images (`vae.decode(latents / scaling_factor)`).

Usage:  python3 scripts/check_latent_pipeline.py FOLDER [--vae VAE_FOLDER] [--tweedie PATH] [--steps N]
        [--class K] [--cfg W] [--batch N]
Prints max abs differences; exit status 0 when every relative error (max |a - b| / max |b|) is at most 1e-4 and
the images differ by at most one 8-bit level.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

TOLERANCE = 1e-4


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")


def compare(name, ours, reference, failures):
    diff = (ours - reference).abs().max().item()
    rel = diff / max(reference.abs().max().item(), 1e-30)
    print(f"{name}: max abs diff {diff:.3e}, relative {rel:.3e} (max |ref| {reference.abs().max():.3f})")
    if not rel <= TOLERANCE:
        failures.append(name)


def same_names(model, weights_path, name, failures):
    saved = set(load_file(weights_path).keys())
    expected = set(model.state_dict().keys())
    if saved != expected:
        print(f"{name}: missing {sorted(expected - saved)[:5]}, unexpected {sorted(saved - expected)[:5]}")
        failures.append(f"{name} weights")


def check_vae(folder, tweedie, tmp, g, failures):
    from diffusers import AutoencoderKL
    vae = AutoencoderKL.from_pretrained(folder, low_cpu_mem_usage=False).eval()
    same_names(vae, os.path.join(folder, "diffusion_pytorch_model.safetensors"), folder, failures)
    cfg = vae.config
    side = cfg.sample_size if isinstance(cfg.sample_size, int) else cfg.sample_size[0]
    factor = 2 ** (len(cfg.block_out_channels) - 1)
    images = torch.rand(3, cfg.in_channels, side, side, generator=g) * 2 - 1
    latents = torch.randn(3, cfg.latent_channels, side // factor, side // factor, generator=g)
    with torch.no_grad():
        mean = vae.encode(images).latent_dist.mean
        decoded = vae.decode(latents).sample
    for flag, x, reference in (("--encode", images, mean), ("--decode", latents, decoded)):
        inp, out = os.path.join(tmp, "vae_in.safetensors"), os.path.join(tmp, "vae_out.safetensors")
        save_file({"sample": x.contiguous()}, inp)
        run([tweedie, "forward", "--model", folder, "--input", inp, "--output", out, flag])
        compare(f"{folder} {flag} vs diffusers", load_file(out)["sample"], reference, failures)
    print(f"{folder}: scaling_factor {cfg.scaling_factor}")


class FixedNoise:
    """Stands in for DiTPipeline's randn_tensor: hands out the stored latents."""

    def __init__(self, latents):
        self.latents = latents

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        assert tuple(shape) == tuple(self.latents.shape), f"pipeline asked for {shape}"
        return self.latents.clone()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--vae", help="also check this AutoencoderKL folder on its own")
    ap.add_argument("--tweedie", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "tweedie"))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--class", dest="label", type=int, default=3)
    ap.add_argument("--cfg", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(args.seed)
    failures = []

    import diffusers.pipelines.dit.pipeline_dit as dit_module
    from diffusers import DDIMScheduler, DiTPipeline
    with tempfile.TemporaryDirectory() as tmp:
        for folder in [os.path.join(args.folder, "vae")] + ([args.vae] if args.vae else []):
            check_vae(folder, args.tweedie, tmp, g, failures)

        pipe = DiTPipeline.from_pretrained(args.folder, low_cpu_mem_usage=False)
        pipe.set_progress_bar_config(disable=True)
        transformer, vae = pipe.transformer.eval(), pipe.vae.eval()
        same_names(transformer, os.path.join(args.folder, "transformer", "diffusion_pytorch_model.safetensors"),
                   "transformer", failures)
        with open(os.path.join(args.folder, "transformer", "labels.json")) as f:
            null = json.load(f)["null_class"]
        cfg = transformer.config
        print(f"DiTPipeline: {sum(p.numel() for p in transformer.parameters())} transformer parameters, "
              f"{len(pipe.labels)} labels, null class {null}, scheduler {type(pipe.scheduler).__name__} "
              f"(clip_sample {pipe.scheduler.config.clip_sample}), vae scaling_factor {vae.config.scaling_factor}")
        latents = torch.randn(args.batch, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=g)
        latents_file = os.path.join(tmp, "latents.safetensors")
        save_file({"sample": latents}, latents_file)
        labels = torch.full((args.batch,), args.label, dtype=torch.long)
        ddim = DDIMScheduler.from_config(pipe.scheduler.config)

        # a. DiTPipeline itself, no guidance.
        pipe.scheduler = ddim
        seen = []
        original = ddim.step

        def step(*a, **k):
            out = original(*a, **k)
            seen.append(out.prev_sample.detach().clone())
            return out

        ddim.step = step
        dit_module.randn_tensor = FixedNoise(latents)
        with torch.no_grad():
            images = pipe(class_labels=labels.tolist(), guidance_scale=1.0, num_inference_steps=args.steps,
                          output_type="np").images
        ddim.step = original
        references = {"none": (seen[-1], images)}

        # b. DiTPipeline's loop with this folder's null class, guidance args.cfg.
        ddim.set_timesteps(args.steps)
        x = latents.clone()
        with torch.no_grad():
            for t in ddim.timesteps:
                both = torch.cat([x, x])
                ts = torch.full((2 * args.batch,), int(t), dtype=torch.long)
                out = transformer(both, timestep=ts, class_labels=torch.cat([labels, torch.full_like(labels, null)])).sample
                eps = out[:, :cfg.in_channels]
                cond, uncond = eps.chunk(2)
                x = ddim.step(uncond + args.cfg * (cond - uncond), t, x).prev_sample
            decoded = vae.decode(x / vae.config.scaling_factor).sample
        references["cfg"] = (x, (decoded / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy())

        for name, guidance in (("none", ["--guidance", "none"]), ("cfg", ["--cfg-scale", str(args.cfg)])):
            tensor = os.path.join(tmp, f"{name}.safetensors")
            pattern = os.path.join(tmp, f"{name}_%d.png")
            run([args.tweedie, "generate", "-m", args.folder, "--quiet", "--latents", latents_file, "-b",
                 str(args.batch), "--sampler", "ddim", "--steps", str(args.steps), "--class", str(args.label),
                 "--save-tensor", tensor, "-o", pattern] + guidance)
            final, image = references[name]
            compare(f"DiT sample ({name}, ddim {args.steps} steps, class {args.label}) latents vs diffusers",
                    load_file(tensor)["sample"], final, failures)
            levels = 0
            for i in range(args.batch):
                ours = np.asarray(Image.open(pattern % i).convert("RGB"), dtype=np.int64)
                ref = np.round(image[i] * 255).astype(np.int64)
                levels = max(levels, int(np.abs(ours - ref).max()))
            print(f"DiT sample ({name}) images: max difference {levels} 8-bit levels over {args.batch} images")
            if levels > 1:
                failures.append(f"{name} images")
    print("ok" if not failures else f"FAILED: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
