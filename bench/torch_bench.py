#!/usr/bin/env python3
"""PyTorch peer of `tweedie bench`: one forward call of a diffusers model folder, median over timed calls.

Prints one JSON object: median_ms, peak_rss_mb (this process), plus engine/model/batch/threads/times_ms.
"""
import argparse

from benchlib import SEED, TIMESTEP, check_args, common_args, fail, input_shapes, read_config, report, time_calls


def main():
    args = common_args(argparse.ArgumentParser(description=__doc__)).parse_args()
    check_args(args)
    config = read_config(args.model)
    kind, shape, classes = input_shapes(config, args.batch)

    import torch
    from diffusers import AutoencoderKL, DiTTransformer2DModel, UNet2DModel

    torch.set_num_threads(args.threads)
    loader = {"unet": UNet2DModel, "dit": DiTTransformer2DModel, "vae": AutoencoderKL}[kind]
    try:
        model = loader.from_pretrained(args.model).eval()
    except Exception as e:  # diffusers raises many types for a bad folder
        fail(f"--model {args.model}: cannot load ({type(e).__name__}: {e})".splitlines()[0])

    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(shape, generator=g)
    t = torch.full((args.batch,), TIMESTEP)
    labels = torch.randint(0, classes, (args.batch,), generator=g) if classes else None

    with torch.inference_mode():
        if kind == "unet":
            call = (lambda: model(x, t, class_labels=labels)) if labels is not None else (lambda: model(x, t))
        elif kind == "dit":
            call = lambda: model(x, timestep=t, class_labels=labels)
        else:
            call = lambda: model.decode(x)
        times = time_calls(call, args.warmup, args.iters)
    report("pytorch", args, times, torch_version=torch.__version__, torch_threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
