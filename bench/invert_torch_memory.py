#!/usr/bin/env python3
"""The reference point for bench/invert's memory grid: textual inversion of one class row by backpropagation in
PyTorch (diffusers' UNet2DModel in float32, every weight frozen but the class table, Adam on it, the DDPM
epsilon loss at random timesteps), as the usual textual-inversion scripts run it, on the same model folder, batch
and number of updates as `tweedie invert --method backprop`. Prints one JSON line: peak RSS (ru_maxrss of this
process) after the updates, and the peak of the same process after importing torch and diffusers and loading the
model but before the first update (what the library and the weights alone hold).

usage: bench/invert_torch_memory.py MODEL_DIR --batch B --steps S [--seed N]
"""
import argparse
import json
import resource


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import torch
    from diffusers import UNet2DModel
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    unet = UNet2DModel.from_pretrained(a.model).float()
    unet.requires_grad_(False)
    table = unet.class_embedding.weight
    table.requires_grad_(True)
    opt = torch.optim.Adam([table], lr=1e-2)
    loaded = peak_mb()
    side, ch = unet.config.sample_size, unet.config.in_channels
    alphas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - alphas, 0).float()
    label = torch.full((a.batch,), unet.class_embedding.num_embeddings - 1, dtype=torch.long)
    for _ in range(a.steps):
        x0 = torch.rand(a.batch, ch, side, side) * 2 - 1
        t = torch.randint(0, 1000, (a.batch,))
        noise = torch.randn_like(x0)
        ab = abar[t].view(-1, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        loss = torch.nn.functional.mse_loss(unet(xt, t, class_labels=label).sample, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(json.dumps({"peak_rss_mb": round(peak_mb(), 1), "loaded_rss_mb": round(loaded, 1),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
