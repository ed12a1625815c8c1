#!/usr/bin/env python3
"""PyTorch peer of `tweedie train --json`: the training step of a Tweedie recipe written with diffusers.

The same recipe JSON as `tweedie train --recipe` gives the UNet2DModel config, batch, learning rate and warm-up,
weight decay, gradient clip, EMA decay, label dropout and prediction type. One step is what Tweedie's
`Trainer.step()` does, in the same four timed phases:

  data       gather a batch from an in-memory uint8 image set, colour it, draw timesteps U{0..999}, noise and
             label dropout, form x_t with DDPMScheduler.add_noise
  forward    model(x_t, t, class_labels).sample and the MSE against epsilon (or v)
  backward   loss.backward()
  optimizer  clip_grad_norm_, LR schedule, AdamW.step, zero_grad(set_to_none), diffusers' EMAModel.step

Prints one JSON object with the keys of Tweedie's report: median_ms, compute_median_ms, cpu_median_ms (process
CPU time per step), samples_per_s, peak_rss_mb, phase_median_ms, times_ms, cpu_ms, phase_ms (over the timed
steps, after the warm-up steps).
"""
import argparse
import json
import os
import time

from benchlib import fail, peak_rss_mb

PHASES = ("data", "forward", "backward", "optimizer")


def median(values):
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def read_recipe(path):
    try:
        with open(path) as f:
            recipe = json.load(f)
    except OSError as e:
        fail(f"--recipe {path}: cannot read ({e.strerror})")
    except json.JSONDecodeError as e:
        fail(f"--recipe {path}: not JSON ({e})")
    if "model" not in recipe:
        fail(f"--recipe {path}: no inline 'model' config (model_config paths are not supported here)")
    if recipe["model"].get("_class_name", "UNet2DModel") != "UNet2DModel":
        fail(f"--recipe {path}: model is not a UNet2DModel")
    return recipe


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", required=True, help="Tweedie training recipe JSON with an inline 'model'")
    parser.add_argument("--batch", type=int, help="samples per step (default: the recipe's)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--gradient-checkpointing", action="store_true",
                        help="model.enable_gradient_checkpointing() (diffusers recomputes resnets only)")
    parser.add_argument("--data-size", type=int, default=60000, help="images held in memory (Fashion-MNIST's count)")
    args = parser.parse_args()
    if args.threads < 1 or args.warmup < 0 or args.steps < 1 or (args.batch is not None and args.batch < 1):
        fail("--threads, --steps and --batch must be >= 1, --warmup >= 0")
    recipe = read_recipe(args.recipe)
    config = recipe["model"]
    batch = args.batch or recipe.get("batch", 32)
    prediction = recipe.get("prediction", "epsilon")

    import torch
    import torch.nn.functional as F
    from diffusers import DDPMScheduler, UNet2DModel
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(recipe.get("seed", 0))
    model = UNet2DModel.from_config(config)
    model.train()
    if args.gradient_checkpointing:
        model.enable_gradient_checkpointing()
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=recipe.get("lr", 2e-4), betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=recipe.get("weight_decay", 0.0))
    lr_decay = recipe.get("lr_decay", "cosine")
    lr_schedule = get_scheduler("constant_with_warmup" if lr_decay == "constant" else "cosine", optimizer,
                                num_warmup_steps=recipe.get("warmup", 500),
                                num_training_steps=recipe.get("steps", 10000))
    # diffusers' EMAModel with its defaults has Tweedie's schedule: decay min(max, (1 + s)/(10 + s)).
    ema = EMAModel(params, decay=recipe.get("ema_decay", 0.999))
    noise_scheduler = DDPMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                                    prediction_type="v_prediction" if prediction in ("v", "v_prediction") else "epsilon")
    clip = recipe.get("grad_clip", 1.0)
    channels, size = config.get("in_channels", 3), config.get("sample_size", 32)
    classes = config.get("num_class_embeds")
    null_class = classes - 1 if classes else None
    dropout = recipe.get("label_dropout", 0.1) if classes else 0.0

    # Same footprint as Tweedie's data in memory: 28x28 grey bytes, coloured and padded to size x size per batch.
    images = torch.randint(0, 256, (args.data_size, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, max(1, (classes or 1) - 1), (args.data_size,))
    hues = torch.rand(max(1, classes or 1), channels)
    order = torch.randperm(args.data_size)
    pad = (size - 28) // 2

    def step(k):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        idx = order[(k * batch) % args.data_size:][:batch]
        if len(idx) < batch:
            idx = torch.cat([idx, order[:batch - len(idx)]])
        grey = images[idx].float().div_(255)
        if pad > 0:
            grey = F.pad(grey, (pad, size - 28 - pad, pad, size - 28 - pad))
        y = labels[idx]
        x0 = (grey[:, None] * hues[y][:, :, None, None]).mul_(2).sub_(1)
        noise = torch.randn_like(x0)
        t = torch.randint(0, 1000, (batch,))
        noisy = noise_scheduler.add_noise(x0, noise, t)
        target = noise if noise_scheduler.config.prediction_type == "epsilon" else \
            noise_scheduler.get_velocity(x0, noise, t)
        if classes:
            y = torch.where(torch.rand(batch) < dropout, torch.full_like(y, null_class), y)
        t1 = time.perf_counter_ns()
        out = model(noisy, t, class_labels=y if classes else None).sample
        loss = F.mse_loss(out, target)
        t2 = time.perf_counter_ns()
        loss.backward()
        t3 = time.perf_counter_ns()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        lr_schedule.step()
        optimizer.zero_grad(set_to_none=True)
        ema.step(params)
        t4, c4 = time.perf_counter_ns(), time.process_time_ns()
        return [(b - a) / 1e6 for a, b in ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (c0, c4))]

    for k in range(args.warmup):
        step(k)
    timed = [step(args.warmup + k) for k in range(args.steps)]
    total = [sum(p[:4]) for p in timed]
    compute = [sum(p[1:4]) for p in timed]
    cpu = [p[4] for p in timed]
    out = {
        "median_ms": round(median(total), 3),
        "compute_median_ms": round(median(compute), 3),
        "cpu_median_ms": round(median(cpu), 3),
        "samples_per_s": round(batch / (median(total) / 1000), 2),
        "batch": batch,
        "steps_timed": args.steps,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "engine": "pytorch",
        "threads": args.threads,
        "warmup": args.warmup,
        "parameters": sum(p.numel() for p in params),
        "gradient_checkpointing": args.gradient_checkpointing,
        "torch_version": torch.__version__,
        "phase_median_ms": {name: round(median([p[i] for p in timed]), 3) for i, name in enumerate(PHASES)},
        "times_ms": [round(t, 3) for t in total],
        "cpu_ms": [round(t, 3) for t in cpu],
        "phase_ms": {name: [round(p[i], 3) for p in timed] for i, name in enumerate(PHASES)},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
