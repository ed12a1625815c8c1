#!/usr/bin/env python3
"""Reference fixtures for Tweedie's model parity tests.

Writes tiny diffusers-format folders (config.json + diffusion_pytorch_model.safetensors) with seeded random
weights into Tests/TweedieModelsTests/Fixtures/<name>/, plus io.safetensors holding the inputs and the reference
outputs computed by diffusers on CPU in float32:

  denoisers (UNet2DModel, DiTTransformer2DModel, Transformer2DModel):
      sample (F32 NCHW), timestep (F32 [N]), class_labels (I64 [N], optional), expected (F32)
  AutoencoderKL:
      image, expected_latent_mean (encoder -> quant_conv -> mean half), latent, expected_decoded
      (post_quant_conv -> decoder)

Every parameter is re-drawn (norm weights around 1, everything else around 0, including the zero-initialised
adaLN and output layers) so that every path contributes to the output. The expected values come from the model
re-loaded with from_pretrained, so they describe the saved folder, not the in-memory module.

Run from the repository root:  python scripts/make_fixtures.py
"""
import json
import math
import os
import shutil

import torch
from safetensors.torch import load_file, save_file

from diffusers import AutoencoderKL, DiTTransformer2DModel, Transformer2DModel, UNet2DModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TweedieModelsTests", "Fixtures")
WEIGHTS = "diffusion_pytorch_model.safetensors"
BATCH = 2
# One integer and one fractional timestep: the sinusoidal embedding must take fractional times.
TIMESTEPS = [10.0, 537.25]


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Re-draws every parameter: weights ~ N(0, 1/fan_in), biases ~ N(0, 0.05), norm scales ~ 1 + N(0, 0.1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            is_norm = "norm" in name
            if leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            elif is_norm and p.dim() == 1:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
            elif "embedding" in name and p.dim() == 2 and "linear" not in name:
                # Embedding tables (class labels): unit-scale rows like nn.Embedding's own init, but smaller.
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                fan_in = max(1, p[0].numel()) if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


def fresh_dir(name: str) -> str:
    path = os.path.join(ROOT, name)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def save_io(path: str, tensors: dict) -> None:
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(path, "io.safetensors"))


def inputs(seed: int, channels: int, size: int, num_classes=None):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(BATCH, channels, size, size, generator=g)
    timestep = torch.tensor(TIMESTEPS, dtype=torch.float32)
    labels = None
    if num_classes is not None:
        labels = torch.tensor([3 % num_classes, (num_classes - 1)], dtype=torch.int64)
    return sample, timestep, labels


def rename_to_legacy_attention(path: str) -> int:
    """Rewrites the saved attention tensors under the names old checkpoints used (query/key/value/proj_attn)."""
    file = os.path.join(path, WEIGHTS)
    state = load_file(file)
    renamed = {}
    count = 0
    for key, value in state.items():
        new = key
        if ".attentions." in key:
            for old, cur in ((".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."),
                             (".to_out.0.", ".proj_attn.")):
                if old in key:
                    new = key.replace(old, cur)
                    count += 1
        renamed[new] = value
    save_file(renamed, file, metadata={"format": "pt"})
    return count


def unet_fixture(name: str, seed: int, legacy_names: bool = False, **config) -> None:
    torch.manual_seed(seed)
    model = UNet2DModel(**config).eval()
    randomize(model, seed)
    path = fresh_dir(name)
    model.save_pretrained(path, safe_serialization=True)
    if legacy_names:
        n = rename_to_legacy_attention(path)
        assert n > 0, "no attention tensors were renamed"
    loaded = UNet2DModel.from_pretrained(path).eval()
    num_classes = config.get("num_class_embeds")
    if config.get("class_embed_type") == "timestep":
        num_classes = 1000
    sample, timestep, labels = inputs(seed + 1, config["in_channels"], config["sample_size"], num_classes)
    with torch.no_grad():
        expected = loaded(sample, timestep, class_labels=labels).sample
        direct = model(sample, timestep, class_labels=labels).sample
    # The folder must describe the same network as the module it came from (legacy names included).
    assert torch.equal(expected, direct), f"{name}: reloaded output differs by {(expected - direct).abs().max()}"
    io = {"sample": sample, "timestep": timestep, "expected": expected}
    if labels is not None:
        io["class_labels"] = labels
    save_io(path, io)
    report(name, model, expected)


def dit_fixture(name: str, seed: int, cls, large_input: bool = False, **config) -> None:
    torch.manual_seed(seed)
    model = cls(**config).eval()
    randomize(model, seed)
    path = fresh_dir(name)
    model.save_pretrained(path, safe_serialization=True)
    # from_pretrained is what users call; for a Transformer2DModel with ada_norm_zero it builds the DiT class.
    loaded = cls.from_pretrained(path).eval()
    sample, timestep, labels = inputs(seed + 1, config["in_channels"], config["sample_size"],
                                      config["num_embeds_ada_norm"])
    with torch.no_grad():
        expected = loaded(sample, timestep=timestep, class_labels=labels).sample
        direct = model(sample, timestep=timestep, class_labels=labels).sample
    assert torch.equal(expected, direct), f"{name}: reloaded output differs by {(expected - direct).abs().max()}"
    io = {"sample": sample, "timestep": timestep, "class_labels": labels, "expected": expected}
    if large_input:
        # Twice the trained resolution: diffusers recomputes the sin-cos positions for the larger patch grid.
        g = torch.Generator().manual_seed(seed + 2)
        size = 2 * config["sample_size"]
        io["sample_large"] = torch.randn(BATCH, config["in_channels"], size, size, generator=g)
        with torch.no_grad():
            io["expected_large"] = loaded(io["sample_large"], timestep=timestep, class_labels=labels).sample
    save_io(path, io)
    report(name, model, expected, loaded_class=type(loaded).__name__)


def vae_fixture(name: str, seed: int, **config) -> None:
    torch.manual_seed(seed)
    model = AutoencoderKL(**config).eval()
    randomize(model, seed)
    path = fresh_dir(name)
    model.save_pretrained(path, safe_serialization=True)
    loaded = AutoencoderKL.from_pretrained(path).eval()
    g = torch.Generator().manual_seed(seed + 1)
    size = config["sample_size"]
    down = 2 ** (len(config["block_out_channels"]) - 1)
    image = torch.rand(BATCH, config["in_channels"], size, size, generator=g) * 2 - 1
    latent = torch.randn(BATCH, config["latent_channels"], size // down, size // down, generator=g)
    with torch.no_grad():
        mean = loaded.encode(image).latent_dist.mean
        decoded = loaded.decode(latent).sample
    save_io(path, {"image": image, "expected_latent_mean": mean, "latent": latent, "expected_decoded": decoded})
    report(name, model, decoded, extra=f"latent mean max |.| {mean.abs().max():.4f}")


def report(name, model, out, loaded_class=None, extra=""):
    params = sum(p.numel() for p in model.parameters())
    cls = f" (loads as {loaded_class})" if loaded_class else ""
    print(f"{name}: {type(model).__name__}{cls}, {params} parameters, output {tuple(out.shape)}, "
          f"max |out| {out.abs().max():.4f}, std {out.std():.4f} {extra}")


def main() -> None:
    os.makedirs(ROOT, exist_ok=True)
    torch.set_num_threads(2)

    # a: plain resnet blocks, no attention anywhere, non-default sinusoid, centred input.
    unet_fixture(
        "unet_a", 100,
        sample_size=16, in_channels=3, out_channels=3, center_input_sample=True,
        flip_sin_to_cos=False, freq_shift=1,
        down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
        block_out_channels=(16, 32), layers_per_block=2, norm_num_groups=8, add_attention=False,
    )
    # b: attention blocks with several heads, class embedding table, scale-shift resnets (the mid attention then
    # has no group norm), channel multipliers 1-2-3, 4 groups, output channels differing from input.
    unet_fixture(
        "unet_b", 200,
        sample_size=16, in_channels=3, out_channels=6,
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(8, 16, 24), layers_per_block=1, norm_num_groups=4, attention_head_dim=4,
        num_class_embeds=10, resnet_time_scale_shift="scale_shift", norm_eps=1e-6,
    )
    # c: a ddpm-cifar10-like layout saved with the legacy attention tensor names (query/key/value/proj_attn),
    # attention_head_dim null (one head over all channels), mid attention with group norm.
    unet_fixture(
        "unet_c_legacy", 300, legacy_names=True,
        sample_size=8, in_channels=3, out_channels=3,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(16, 32), layers_per_block=2, norm_num_groups=8, attention_head_dim=None,
    )
    # d: the rarer switches: timestep-style class embedding, resnet down/upsamplers, asymmetric-padding
    # downsample conv, mid block scale factor, explicit time embedding width and mid attention group count.
    unet_fixture(
        "unet_d", 400,
        sample_size=8, in_channels=2, out_channels=2,
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(8, 8, 16), layers_per_block=1, norm_num_groups=4, attention_head_dim=8,
        class_embed_type="timestep", downsample_type="resnet", upsample_type="resnet", downsample_padding=0,
        mid_block_scale_factor=math.sqrt(2.0), time_embedding_dim=24, attn_norm_num_groups=2,
    )

    # DiT, learned sigma (out = 2 x in), patch 2 on an 8x8 latent.
    dit_fixture(
        "dit_a", 500, DiTTransformer2DModel, large_input=True,
        num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=8, num_layers=2,
        sample_size=8, patch_size=2, num_embeds_ada_norm=10,
    )
    # The older Transformer2DModel layout/config (what the original DiT checkpoints ship), patch 4 on 16x16,
    # exact GELU and affine LayerNorms in the blocks.
    dit_fixture(
        "dit_b_transformer2d", 600, Transformer2DModel,
        num_attention_heads=3, attention_head_dim=4, in_channels=3, out_channels=6, num_layers=3,
        sample_size=16, patch_size=4, num_embeds_ada_norm=12, norm_type="ada_norm_zero",
        activation_fn="gelu", attention_bias=True, norm_elementwise_affine=True,
    )

    vae_fixture(
        "vae", 700,
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16), layers_per_block=1, latent_channels=4, norm_num_groups=4, sample_size=16,
    )

    total = 0
    for dirpath, _, files in os.walk(ROOT):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"fixtures: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
