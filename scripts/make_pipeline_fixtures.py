#!/usr/bin/env python3
"""Reference fixtures for Tweedie's whole-pipeline tests (`tweedie generate` against diffusers pipelines).

Writes into Tests/TweedieCLITests/Fixtures/:
  unet_ddim/      a bare UNet2DModel folder (config.json + weights) with a DDIMScheduler scheduler_config.json beside
                  it, latents.safetensors (`sample`: unit noise [2, 3, 16, 16]) and expected.safetensors:
                  `sample` (DDIMPipeline's final tensor before (x/2 + 0.5).clamp, eta 0, 10 steps) and `image`
                  (its output_type="np" result, NHWC in [0, 1]), plus `euler_sample`, `ddpm_sample` and
                  `euler_a_sample` from the Euler, DDPM and Euler-ancestral schedulers made from the same config
                  (10 steps; the stochastic ones with one torch generator per image, seeds 1234 + i).
  unet_cond/      a fashion-style class-conditional UNet2DModel (num_class_embeds = 4: classes 0-2 plus the null
                  class 3, `labels` in config.json) with a DDIM scheduler without clipping, latents.safetensors and
                  expected.safetensors (`sample`: a DDIM loop with classifier-free guidance 3 on eps, labels [2, 0],
                  null label 3, 8 steps; diffusers has no pipeline for class-conditional U-Nets).
  dit_pipe/       a DiTPipeline folder (model_index.json with a short id2label, transformer/ with learned sigma,
                  vae/, scheduler/ DDIM)
                  with latents.safetensors (`sample`: unit noise [2, 4, 8, 8]) and expected.safetensors:
                  `ddim_sample` / `ddim_image` (DiTPipeline, DDIM, 10 steps, guidance 4, class labels [3, 7]) and
                  `dpm_sample` / `dpm_image` (the same with DPMSolverMultistepScheduler.from_config, 10 steps).
                  `*_sample` are the final latents (model space), `*_image` the output_type="np" images.

The pipelines' own randn_tensor is replaced by one that returns the stored latents, and scheduler.step is wrapped
to record the last prev_sample, so the references are the real pipelines' computation from known noise.

Run from anywhere:  python3 scripts/make_pipeline_fixtures.py     (needs torch, diffusers, safetensors)
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import randomize  # noqa: E402  (same weight re-draw as the model fixtures)

import diffusers.pipelines.ddim.pipeline_ddim as ddim_module  # noqa: E402
import diffusers.pipelines.dit.pipeline_dit as dit_module  # noqa: E402
from diffusers import (AutoencoderKL, DDIMPipeline, DDIMScheduler, DDPMScheduler, DiTPipeline,  # noqa: E402
                       DiTTransformer2DModel, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, UNet2DModel)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TweedieCLITests", "Fixtures")
BATCH = 2


def fresh_dir(name: str) -> str:
    path = os.path.join(ROOT, name)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def unit_noise(seed: int, shape) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


class FixedNoise:
    """Stands in for a pipeline module's randn_tensor: hands out the stored latents."""

    def __init__(self, latents: torch.Tensor):
        self.latents = latents

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        assert tuple(shape) == tuple(self.latents.shape), f"pipeline asked for {shape}"
        return self.latents.clone()


def record_steps(scheduler):
    """Wraps scheduler.step so the last prev_sample (the final sample before post-processing) can be read."""
    original = scheduler.step
    seen = []

    def step(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out.prev_sample.detach().clone())
        return out

    scheduler.step = step
    return seen


def tiny_unet(seed: int, **extra) -> UNet2DModel:
    torch.manual_seed(seed)
    model = UNet2DModel(
        sample_size=16, in_channels=3, out_channels=3,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, attention_head_dim=8, **extra,
    ).eval()
    randomize(model, seed)
    return model


def add_config_keys(path: str, **keys) -> None:
    file = os.path.join(path, "config.json")
    with open(file) as f:
        config = json.load(f)
    config.update(keys)
    with open(file, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def unet_ddim_fixture() -> None:
    path = fresh_dir("unet_ddim")
    tiny_unet(1100).save_pretrained(path, safe_serialization=True)
    unet = UNet2DModel.from_pretrained(path).eval()
    # steps_offset 1 and clip_sample on: the layout of the DDPM/DDIM checkpoints in the wild.
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", steps_offset=1, clip_sample=True)
    scheduler.save_config(path)
    latents = unit_noise(1101, (BATCH, 3, 16, 16))
    save_file({"sample": latents}, os.path.join(path, "latents.safetensors"))

    pipe = DDIMPipeline(unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    seen = record_steps(pipe.scheduler)
    ddim_module.randn_tensor = FixedNoise(latents)
    with torch.no_grad():
        image = pipe(batch_size=BATCH, num_inference_steps=10, eta=0.0, output_type="np").images
    final = seen[-1]
    assert len(seen) == 10
    expected = {"sample": final.contiguous(), "image": torch.from_numpy(image).contiguous()}
    report("unet_ddim", final)
    # The same network under other schedulers made from the same config (as pipelines do with from_config):
    # Euler ignores clip_sample, DDPM clamps x0 in its posterior; the stochastic ones draw their noise from one
    # torch generator per image seeded SEED + i, which `--rng torch --seed SEED` reproduces.
    for name, cls in (("euler", EulerDiscreteScheduler), ("ddpm", DDPMScheduler),
                      ("euler_a", EulerAncestralDiscreteScheduler)):
        # From the saved file, as a user of the folder gets it (an in-memory config would let the new class
        # fall back to its own defaults for keys the DDIM config left at theirs).
        expected[f"{name}_sample"] = scheduler_loop(unet, cls.from_pretrained(path), latents, steps=10)
        report(f"unet_ddim {name}", expected[f"{name}_sample"])
    save_file(expected, os.path.join(path, "expected.safetensors"))


TORCH_SEED = 1234


def scheduler_loop(unet, scheduler, latents, steps):
    """The denoising loop of diffusers' unconditional pipelines with a list of per-image generators."""
    generators = [torch.Generator().manual_seed(TORCH_SEED + i) for i in range(latents.shape[0])]
    scheduler.set_timesteps(steps)
    x = latents * scheduler.init_noise_sigma
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = unet(scheduler.scale_model_input(x, t), t).sample
            x = scheduler.step(eps, t, x, generator=generators).prev_sample
    return x.contiguous()


def unet_cond_fixture() -> None:
    path = fresh_dir("unet_cond")
    tiny_unet(1200, num_class_embeds=4).save_pretrained(path, safe_serialization=True)
    add_config_keys(path, labels=["Alpha", "Beta", "Gamma"])
    unet = UNet2DModel.from_pretrained(path).eval()
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085,
                              beta_end=0.012, clip_sample=False, timestep_spacing="trailing")
    scheduler.save_config(path)
    latents = unit_noise(1201, (BATCH, 3, 16, 16))
    save_file({"sample": latents}, os.path.join(path, "latents.safetensors"))

    labels, null, scale, steps = torch.tensor([2, 0]), 3, 3.0, 8
    scheduler.set_timesteps(steps)
    x = latents * scheduler.init_noise_sigma
    with torch.no_grad():
        for t in scheduler.timesteps:
            both = unet(torch.cat([x, x]), t, class_labels=torch.cat([labels, torch.full_like(labels, null)])).sample
            cond, uncond = both.chunk(2)
            eps = uncond + scale * (cond - uncond)
            x = scheduler.step(eps, t, x).prev_sample
    save_file({"sample": x.contiguous()}, os.path.join(path, "expected.safetensors"))
    report("unet_cond", x)


def dit_fixture() -> None:
    path = fresh_dir("dit_pipe")
    torch.manual_seed(1300)
    # num_embeds_ada_norm 1000: DiTPipeline hard-codes class 1000 as the null label.
    transformer = DiTTransformer2DModel(
        num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=8, num_layers=2,
        sample_size=8, patch_size=2, num_embeds_ada_norm=1000,
    ).eval()
    randomize(transformer, 1300)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16), layers_per_block=1, latent_channels=4, norm_num_groups=4, sample_size=16,
    ).eval()
    randomize(vae, 1301)
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False)
    DiTPipeline(transformer=transformer, vae=vae, scheduler=scheduler).save_pretrained(path, safe_serialization=True)
    # DiTPipeline's class names: comma-separated synonyms per id (a few here; the real one names all 1000).
    index_file = os.path.join(path, "model_index.json")
    with open(index_file) as f:
        index = json.load(f)
    index["id2label"] = {"3": "tiger shark, Galeocerdo cuvieri", "7": "cock"}
    with open(index_file, "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)

    latents = unit_noise(1302, (BATCH, 4, 8, 8))
    save_file({"sample": latents}, os.path.join(path, "latents.safetensors"))
    dit_module.randn_tensor = FixedNoise(latents)
    expected = {}
    for name, make in (("ddim", None), ("dpm", DPMSolverMultistepScheduler)):
        pipe = DiTPipeline.from_pretrained(path)
        if make is not None:
            pipe.scheduler = make.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        seen = record_steps(pipe.scheduler)
        with torch.no_grad():
            image = pipe(class_labels=[3, 7], guidance_scale=4.0, num_inference_steps=10, output_type="np").images
        final = seen[-1][:BATCH]
        expected[f"{name}_sample"] = final.contiguous()
        expected[f"{name}_image"] = torch.from_numpy(image).contiguous()
        report(f"dit_pipe {name}", final)
    save_file(expected, os.path.join(path, "expected.safetensors"))


def report(name: str, out: torch.Tensor) -> None:
    print(f"{name}: final {tuple(out.shape)}, max |x| {out.abs().max():.4f}, std {out.std():.4f}")


def main() -> None:
    os.makedirs(ROOT, exist_ok=True)
    torch.set_num_threads(2)
    unet_ddim_fixture()
    unet_cond_fixture()
    dit_fixture()
    total = 0
    for dirpath, _, files in os.walk(ROOT):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"fixtures: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
