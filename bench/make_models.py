#!/usr/bin/env python3
"""Writes the two benchmark model folders with random weights (diffusers save_pretrained layout).

unet-cifar10: UNet2DModel with the public DDPM CIFAR-10 32x32 checkpoint's configuration (~35.7M parameters).
dit-s2:       DiT-S/2 (DiTTransformer2DModel, 32x32x4 latents, learned sigma, 1000 classes).
The weights are random (fixed seed): the benchmark measures speed, not sample quality.
"""
import argparse
import json
import os
import sys

import torch
from diffusers import DiTTransformer2DModel, UNet2DModel

# The DDPM CIFAR-10 checkpoint's config.json keys, as published with the converted weights.
UNET_CIFAR10 = dict(
    sample_size=32,
    in_channels=3,
    out_channels=3,
    center_input_sample=False,
    time_embedding_type="positional",
    freq_shift=1,
    flip_sin_to_cos=False,
    down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(128, 256, 256, 256),
    layers_per_block=2,
    mid_block_scale_factor=1,
    downsample_padding=0,
    act_fn="silu",
    attention_head_dim=None,
    norm_num_groups=32,
    norm_eps=1e-6,
)
UNET_PARAMS = 35_746_307  # parameter count of the public checkpoint

DIT_S2 = dict(
    sample_size=32,
    in_channels=4,
    out_channels=8,
    num_layers=12,
    num_attention_heads=6,
    attention_head_dim=64,
    patch_size=2,
    num_embeds_ada_norm=1000,
)


def randomize(model, seed):
    """Replaces every parameter with small Gaussian noise so no layer is an identity/zero (as fresh init leaves
    DiT's adaLN-zero and output projections) and the activations stay in a realistic range."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                if name.endswith("weight"):  # norm scales
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.02 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return model


def write(model, path):
    model.save_pretrained(path, safe_serialization=True)
    n = sum(p.numel() for p in model.parameters())
    print(f"{os.path.basename(path)}: {type(model).__name__}, {n / 1e6:.2f}M parameters -> {path}")
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    unet = randomize(UNet2DModel(**UNET_CIFAR10).eval(), args.seed)
    n = write(unet, os.path.join(args.out, "unet-cifar10"))
    if n != UNET_PARAMS:
        sys.exit(f"make_models.py: UNet2DModel has {n} parameters, the CIFAR-10 checkpoint has {UNET_PARAMS}")

    dit = randomize(DiTTransformer2DModel(**DIT_S2).eval(), args.seed + 1)
    write(dit, os.path.join(args.out, "dit-s2"))
    with open(os.path.join(args.out, "models.json"), "w") as f:
        json.dump({"unet-cifar10": UNET_CIFAR10, "dit-s2": DIT_S2}, f, indent=1)


if __name__ == "__main__":
    main()
