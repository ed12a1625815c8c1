#!/usr/bin/env python3
"""Reference gradients for Tweedie's differentiable UNet2DModel and DiTTransformer2DModel
(Tests/TweedieTrainingTests/Fixtures/unet_grad/ and dit_grad/).

Builds a tiny diffusers UNet2DModel (two levels, attention at the lower one, class table, several heads), re-draws
every parameter so all paths matter (norm scales around 1, the rest around 0), saves it as a diffusers folder, and
writes io.safetensors with:
  sample [2, 3, 8, 8], timestep [2] (F32), class_labels [2] (I64), cotangent R [2, 3, 8, 8],
  loss = sum(model(sample, timestep, class_labels) * R)   (F32 scalar, shape [1]),
  grad_sample = d loss / d sample, and grad/<name> = d loss / d <parameter> for a handful of parameters.
PyTorch autograd on CPU in float64 (the module is cast to double for the reference, then saved in float32 — the
saved float32 weights are what both sides use, so the double run is simply a more exact reference).

dit_grad holds the same files for a tiny class-conditional DiT with learned sigma (2 blocks, hidden 16, 2 heads,
patch 2, affine feed-forward norm, 3 classes + the null class): sample [2, 3, 8, 8], cotangent [2, 6, 8, 8] over the
raw output (variance channels included), and grad/<name> for every parameter.

vlb holds the learned-variance bound of Improved DDPM as DiT trains it (improved-diffusion's _vb_terms_bpd with
learned_range, the mean frozen, RESCALED_MSE scale 1 at 1000 steps), written out here in float64 torch:
alphas_cumprod [1000], x0 / x_t / frozen eps / variance output v [4, 3, 4, 4], timesteps [4] (I64, including 0
and an x0 with values at -1 and +1 for the decoder's edge bins), loss = mean over samples of the per-sample bound
in bits per dimension, grad_v = d loss / d v by autograd.

With --optim-reference it instead prints the PyTorch/diffusers numbers pasted into OptimizerTests.swift.

vae_grad holds the same for a tiny AutoencoderKL: the encoder's moments and the decoder, each against its own
cotangent, gradients to the image, the latent and every parameter (see vae_grad_fixture).

Run from the repository root:  python scripts/make_grad_fixtures.py  (--dit / --vae / --vlb: only that fixture)
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TweedieTrainingTests", "Fixtures")
CHECKED = [
    "conv_in.weight", "time_embedding.linear_1.weight", "class_embedding.weight",
    "down_blocks.0.resnets.0.conv1.weight", "down_blocks.0.resnets.0.norm1.weight",
    "down_blocks.1.attentions.0.to_q.weight", "down_blocks.1.attentions.0.to_k.bias",
    "down_blocks.1.attentions.0.group_norm.bias", "mid_block.attentions.0.to_out.0.weight",
    "up_blocks.0.resnets.1.conv_shortcut.weight", "up_blocks.0.resnets.0.time_emb_proj.weight",
    "up_blocks.0.upsamplers.0.conv.bias", "conv_norm_out.weight", "conv_out.weight", "conv_out.bias",
]


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            elif "norm" in name and p.dim() == 1:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
            elif "embedding" in name and p.dim() == 2 and "linear" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                fan_in = max(1, p[0].numel()) if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


def grad_fixture():
    from diffusers import UNet2DModel
    torch.manual_seed(0)
    model = UNet2DModel(
        sample_size=8, in_channels=3, out_channels=3, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=4, attention_head_dim=8, num_class_embeds=3,
    ).eval()
    randomize(model, 11)
    path = os.path.join(ROOT, "unet_grad")
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    model.save_pretrained(path, safe_serialization=True)
    loaded = UNet2DModel.from_pretrained(path).eval().double()
    g = torch.Generator().manual_seed(12)
    sample = torch.randn(2, 3, 8, 8, generator=g)
    cotangent = torch.randn(2, 3, 8, 8, generator=g)
    timestep = torch.tensor([10.0, 600.5])
    labels = torch.tensor([0, 2], dtype=torch.int64)
    x = sample.double().requires_grad_()
    out = loaded(x, timestep.double(), class_labels=labels).sample
    loss = (out * cotangent.double()).sum()
    loss.backward()
    params = dict(loaded.named_parameters())
    io = {"sample": sample, "timestep": timestep, "class_labels": labels, "cotangent": cotangent,
          "loss": loss.detach().float().reshape(1), "grad_sample": x.grad.float()}
    for name in CHECKED:
        io["grad/" + name] = params[name].grad.float().contiguous()
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(path, "io.safetensors"))
    n = sum(p.numel() for p in model.parameters())
    print(f"unet_grad: {n} parameters, loss {loss.item():.6f}, |grad_sample| max {x.grad.abs().max():.4f}")


def dit_grad_fixture():
    from diffusers import DiTTransformer2DModel
    torch.manual_seed(0)
    model = DiTTransformer2DModel(
        num_attention_heads=2, attention_head_dim=8, in_channels=3, out_channels=6, num_layers=2, sample_size=8,
        patch_size=2, num_embeds_ada_norm=3, norm_elementwise_affine=True,
    ).eval()
    randomize(model, 21)
    path = os.path.join(ROOT, "dit_grad")
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    model.save_pretrained(path, safe_serialization=True)
    loaded = DiTTransformer2DModel.from_pretrained(path).eval().double()
    g = torch.Generator().manual_seed(22)
    sample = torch.randn(2, 3, 8, 8, generator=g)
    cotangent = torch.randn(2, 6, 8, 8, generator=g)
    timestep = torch.tensor([10.0, 600.5])
    labels = torch.tensor([1, 3], dtype=torch.int64)
    x = sample.double().requires_grad_()
    out = loaded(x, timestep=timestep.double(), class_labels=labels).sample
    loss = (out * cotangent.double()).sum()
    loss.backward()
    io = {"sample": sample, "timestep": timestep, "class_labels": labels, "cotangent": cotangent,
          "loss": loss.detach().float().reshape(1), "grad_sample": x.grad.float()}
    for name, p in loaded.named_parameters():
        io["grad/" + name] = p.grad.float().contiguous()
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(path, "io.safetensors"))
    n = sum(p.numel() for p in model.parameters())
    print(f"dit_grad: {n} parameters, loss {loss.item():.6f}, |grad_sample| max {x.grad.abs().max():.4f}")


def vae_grad_fixture():
    """vae_grad: a tiny AutoencoderKL (two levels, mid-block attention, quant convs), image [2, 3, 8, 8] and latent
    [2, 4, 4, 4]; loss = sum(mean * Rm) + sum(logvar * Rl) + sum(decode(latent) * Rd) with the encoder's moments
    before diffusers clamps the log-variance; grad_image, grad_latent and grad/<name> for every parameter."""
    from diffusers import AutoencoderKL
    torch.manual_seed(0)
    model = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=4, sample_size=8,
    ).eval()
    randomize(model, 31)
    path = os.path.join(ROOT, "vae_grad")
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    model.save_pretrained(path, safe_serialization=True)
    loaded = AutoencoderKL.from_pretrained(path).eval().double()
    g = torch.Generator().manual_seed(32)
    image = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    latent = torch.randn(2, 4, 4, 4, generator=g)
    rm, rl = torch.randn(2, 4, 4, 4, generator=g), torch.randn(2, 4, 4, 4, generator=g)
    rd = torch.randn(2, 3, 8, 8, generator=g)
    x = image.double().requires_grad_()
    z = latent.double().requires_grad_()
    moments = loaded.quant_conv(loaded.encoder(x))
    mean, logvar = torch.chunk(moments, 2, dim=1)
    decoded = loaded.decoder(loaded.post_quant_conv(z))
    loss = (mean * rm.double()).sum() + (logvar * rl.double()).sum() + (decoded * rd.double()).sum()
    loss.backward()
    io = {"image": image, "latent": latent, "cotangent_mean": rm, "cotangent_logvar": rl, "cotangent_decoded": rd,
          "loss": loss.detach().float().reshape(1), "grad_image": x.grad.float(), "grad_latent": z.grad.float()}
    for name, p in loaded.named_parameters():
        io["grad/" + name] = p.grad.float().contiguous()
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(path, "io.safetensors"))
    n = sum(p.numel() for p in model.parameters())
    print(f"vae_grad: {n} parameters, loss {loss.item():.6f}, |grad_image| max {x.grad.abs().max():.4f}")


def approx_standard_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def discretized_gaussian_log_likelihood(x, means, log_scales):
    centered_x = x - means
    inv_stdv = torch.exp(-log_scales)
    plus_in = inv_stdv * (centered_x + 1.0 / 255.0)
    cdf_plus = approx_standard_normal_cdf(plus_in)
    min_in = inv_stdv * (centered_x - 1.0 / 255.0)
    cdf_min = approx_standard_normal_cdf(min_in)
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    cdf_delta = cdf_plus - cdf_min
    return torch.where(x < -0.999, log_cdf_plus,
                       torch.where(x > 0.999, log_one_minus_cdf_min, torch.log(cdf_delta.clamp(min=1e-12))))


def vlb_fixture():
    betas32 = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float32)
    abar = torch.cumprod(1 - betas32, 0).double()
    prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
    betas = 1 - abar / prev
    post_var = betas * (1 - prev) / (1 - abar)
    post_log_clipped = torch.log(torch.cat([post_var[1:2], post_var[1:]]))
    coef1 = betas * torch.sqrt(prev) / (1 - abar)
    coef2 = (1 - prev) * torch.sqrt(1 - betas) / (1 - abar)

    g = torch.Generator().manual_seed(31)
    shape = (4, 3, 4, 4)
    x0 = (torch.rand(shape, generator=g) * 2 - 1).double()
    x0[0, 0, 0, :2] = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    x0[1, 1, 1, :2] = torch.tensor([1.0, -1.0], dtype=torch.float64)
    t = torch.tensor([0, 1, 500, 999], dtype=torch.int64)
    noise = torch.randn(shape, generator=g).double()
    a = abar[t].view(-1, 1, 1, 1)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    eps = noise + 0.3 * torch.randn(shape, generator=g).double()
    v = (torch.rand(shape, generator=g) * 3 - 1.5).double().requires_grad_()
    x0 = x0.float().double()
    xt = xt.float().double()
    eps = eps.float().double()

    def ex(table):
        return table[t].view(-1, 1, 1, 1)
    true_mean = ex(coef1) * x0 + ex(coef2) * xt
    true_logvar = ex(post_log_clipped)
    pred_x0 = torch.sqrt(1 / a) * xt - torch.sqrt(1 / a - 1) * eps
    model_mean = ex(coef1) * pred_x0 + ex(coef2) * xt
    frac = (v + 1) / 2
    model_logvar = frac * torch.log(ex(betas)) + (1 - frac) * ex(post_log_clipped)
    kl = 0.5 * (-1.0 + model_logvar - true_logvar + torch.exp(true_logvar - model_logvar)
                + (true_mean - model_mean) ** 2 * torch.exp(-model_logvar))
    kl = kl.mean(dim=(1, 2, 3)) / math.log(2.0)
    nll = -discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * model_logvar)
    nll = nll.mean(dim=(1, 2, 3)) / math.log(2.0)
    per_sample = torch.where(t == 0, nll, kl)
    loss = per_sample.mean()
    loss.backward()
    path = os.path.join(ROOT, "vlb")
    os.makedirs(path, exist_ok=True)
    io = {"alphas_cumprod": abar.float(), "x0": x0.float(), "xt": xt.float(), "eps": eps.float(),
          "v": v.detach().float(), "timesteps": t, "per_sample": per_sample.detach().float(),
          "loss": loss.detach().float().reshape(1), "grad_v": v.grad.float()}
    save_file({k: val.contiguous() for k, val in io.items()}, os.path.join(path, "io.safetensors"))
    print(f"vlb: per-sample bound {per_sample.detach().numpy()}, loss {loss.item():.6f}")


def optim_reference():
    def f32(x):
        return [float(np.float32(v)) for v in x.detach().flatten().tolist()]
    ta = torch.tensor([0.2, -0.3, 1.0, 0.0]).reshape(2, 2)
    tb = torch.tensor([0.05, 0.4, -0.1])

    def run(make, steps=3):
        a = torch.tensor([0.5, -1.5, 2.0, 0.25]).reshape(2, 2).requires_grad_()
        b = torch.tensor([0.1, -0.2, 0.3]).requires_grad_()
        opt = make([a, b])
        for _ in range(steps):
            a.grad = a.detach() ** 3 - ta
            b.grad = b.detach() ** 3 - tb
            opt.step()
        return f32(a), f32(b)
    print("adamw", run(lambda p: torch.optim.AdamW(p, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1,
                                                   foreach=False)))
    print("sgd", run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01,
                                               foreach=False)))
    print("sgd_nesterov", run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True,
                                                        foreach=False)))
    p1, p2 = torch.nn.Parameter(torch.zeros(4)), torch.nn.Parameter(torch.zeros(2))
    p1.grad, p2.grad = torch.tensor([3.0, 0, 0, 0]), torch.tensor([4.0, 12.0])
    n = torch.nn.utils.clip_grad_norm_([p1, p2], 6.5)
    print("clip", float(n), f32(p1.grad), f32(p2.grad))
    from diffusers.optimization import get_cosine_schedule_with_warmup
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sch = get_cosine_schedule_with_warmup(opt, num_warmup_steps=3, num_training_steps=10)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    print("cosine", [float(np.float32(v)) for v in lrs])
    from diffusers.training_utils import EMAModel
    m = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, -2.0]]))
    ema = EMAModel(m.parameters(), decay=0.9)
    vals = []
    for w in [[0.5, 0.5], [2.0, -1.0], [3.0, 1.0], [-1.0, 4.0]]:
        with torch.no_grad():
            m.weight.copy_(torch.tensor([w]))
        ema.step(m.parameters())
        vals.append(f32(ema.shadow_params[0]))
    print("ema", vals)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if "--optim-reference" in sys.argv:
        optim_reference()
    elif "--dit" in sys.argv:
        dit_grad_fixture()
    elif "--vlb" in sys.argv:
        vlb_fixture()
    elif "--vae" in sys.argv:
        vae_grad_fixture()
    else:
        grad_fixture()
        dit_grad_fixture()
        vae_grad_fixture()
        vlb_fixture()
