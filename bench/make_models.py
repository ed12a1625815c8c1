#!/usr/bin/env python3
"""Writes the benchmark model folders with random weights (diffusers save_pretrained layout).

unet-cifar10: UNet2DModel with the public DDPM CIFAR-10 32x32 checkpoint's configuration (~35.7M parameters).
dit-s2:       DiT-S/2 (DiTTransformer2DModel, 32x32x4 latents, learned sigma, 1000 classes).
dit-xl2-256:  DiT-XL/2 at 256x256 (32x32x4 latents, 28 layers, 16 heads of 72; 675M parameters in the paper's
              layout, 750M in diffusers', which repeats the embeddings per block).
unet-adm256:  the ADM-like 256x256 UNet of DPS's FFHQ prior (~80.6M parameters; bench/speed uses it too).
The weights are random (fixed seed): the benchmark measures speed, not sample quality.

usage: make_models.py [--out DIR] [--models NAME,...]   (default: unet-cifar10,dit-s2)
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


# DiT-XL/2 as published with the DiT paper's 256x256 ImageNet checkpoint (diffusers' facebook/DiT-XL-2-256 config).
DIT_XL2_256 = dict(
    sample_size=32,
    in_channels=4,
    out_channels=8,
    num_layers=28,
    num_attention_heads=16,
    attention_head_dim=72,
    patch_size=2,
    num_embeds_ada_norm=1000,
)
# The paper's 675M, in diffusers' layout: each of the 28 blocks carries its own copy of the timestep MLP and the
# class table (AdaLayerNormZero), which the converted checkpoint duplicates; the work per call is the paper's.
DIT_XL2_PARAMS = 749_826_464

# DPS's FFHQ-256 model (guided-diffusion flags: num_channels 128, num_res_blocks 1, channel_mult 1,1,2,2,4,4,
# attention_resolutions 16, num_head_channels 64, learn_sigma, use_scale_shift_norm) as a UNet2DModel; ADM's
# resnet up/down-sampling is diffusers' conv up/down-sampling here.
UNET_ADM256 = dict(
    sample_size=256, in_channels=3, out_channels=6, center_input_sample=False, time_embedding_type="positional",
    freq_shift=0, flip_sin_to_cos=True,
    down_block_types=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D") + ("UpBlock2D",) * 4,
    block_out_channels=(128, 128, 256, 256, 512, 512), layers_per_block=1, downsample_padding=1,
    act_fn="silu", attention_head_dim=64, norm_num_groups=32, norm_eps=1e-5, resnet_time_scale_shift="scale_shift",
)

# name -> (class, config, seed offset, published parameter count or None)
MODELS = {
    "unet-cifar10": (UNet2DModel, UNET_CIFAR10, 0, UNET_PARAMS),
    "dit-s2": (DiTTransformer2DModel, DIT_S2, 1, None),
    "dit-xl2-256": (DiTTransformer2DModel, DIT_XL2_256, 2, DIT_XL2_PARAMS),
    "unet-adm256": (UNet2DModel, UNET_ADM256, 0, None),
}


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default="unet-cifar10,dit-s2", help="comma-separated: " + ", ".join(MODELS))
    args = ap.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        sys.exit(f"make_models.py: --models: unknown model {', '.join(unknown) or '(none)'} (known: {', '.join(MODELS)})")
    os.makedirs(args.out, exist_ok=True)
    configs_path = os.path.join(args.out, "models.json")
    configs = json.load(open(configs_path)) if os.path.exists(configs_path) else {}
    for name in names:
        cls, config, offset, published = MODELS[name]
        n = write(randomize(cls(**config).eval(), args.seed + offset), os.path.join(args.out, name))
        if published is not None and n != published:
            sys.exit(f"make_models.py: {name} has {n} parameters, the published checkpoint has {published}")
        configs[name] = config
    with open(configs_path + ".tmp", "w") as f:
        json.dump(configs, f, indent=1)
    os.replace(configs_path + ".tmp", configs_path)


if __name__ == "__main__":
    main()
