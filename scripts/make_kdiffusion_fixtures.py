#!/usr/bin/env python3
"""Reference trajectories of k-diffusion's samplers (and diffusers' UniPC) for Tweedie's sampler parity tests.

Writes into Tests/TweedieSamplersTests/Fixtures/kdiffusion/:
  unet/            a tiny random-weight UNet2DModel folder (config.json + diffusion_pytorch_model.safetensors,
                   2 channels, 8x8); the network of every reference run predicts eps(x_in, t) = x_in + 0.1 *
                   UNet(x_in, t) (the identity noise predictor, exact at large sigma for unit-scale data, with the
                   random UNet as a residual), so samples stay O(1) as with a trained model
  cases.json       alphas_cumprod (the float32 table as doubles: Tweedie's VPDenoiser is built from it), residual
                   (the 0.1 above), and per case
                   the sampler, the reference function, the sigmas (float32 values), the number of stored noise draws
                   and of reported steps, the sigma range for dpm_fast / dpm_adaptive, the model calls the reference
                   made
  tensors.safetensors
                   <case>.initial  x at sigmas[0] (sigma space, F32)
                   <case>.draws    the replayed noise, one row per draw (F32; dpmpp_sde: [N, 2, C, H, W] per step)
                   <case>.steps    x after every step (sigma space), last row the final sample (F32)

That network is wrapped by k-diffusion's own DiscreteEpsDDPMDenoiser(quantize=False): D(x, sigma) = x - sigma *
eps(x / sqrt(sigma^2 + 1), t(sigma)) with t from log-sigma interpolation. Its sigma table is set to the one
Tweedie's VPSigmaTable computes (sqrt((1 - abar) / abar) in float32, logf from the same libm), so both sides ask
the network at the same fractional timesteps. Every reference run is in float64 (network, sampler arithmetic,
noise), from float32-representable inputs, so the references hold k-diffusion's algorithm without float32 rounding
of their own: the measured error is Tweedie's.

Noise: each stochastic sampler is given a noise_sampler that hands out seeded torch.randn draws and records them.
dpmpp_sde draws two independent unit normals z1, z2 per step ([N, 2, C, H, W]) and answers its two calls with the
increments of one Brownian path over [sigma_i, sigma_s] and [sigma_i, sigma_{i+1}]: z1 and
(sqrt(sigma_i - sigma_s) z1 + sqrt(sigma_s - sigma_{i+1}) z2) / sqrt(sigma_i - sigma_{i+1}), the joint law of
k-diffusion's default BrownianTreeNoiseSampler (transform identity), which Tweedie's dpmpp_sde reproduces from the
same two draws.

dpm_fast and dpm_adaptive take sigma_min / sigma_max instead of a schedule; as ComfyUI calls them, sigma_max =
sigmas[0], sigma_min = the last positive sigma and (dpm_fast) n = len(sigmas) - 1. They stop at sigma_min; the
final row adds the denoising step to sigma 0, D(x, sigma_min), that Tweedie takes when the schedule ends in 0.

UniPC: diffusers' UniPCMultistepScheduler with its defaults (bh2, solver_order 2, predict_x0, lower_order_final)
for 10 steps, run in VP space by its own step(); the network is called through the same k-diffusion denoiser at
the scheduler's sigmas, and the per-step samples are converted to sigma space (x / alpha).

Run from anywhere:  python3 scripts/make_kdiffusion_fixtures.py   (needs torch, diffusers, k-diffusion, safetensors)
"""
import copy
import ctypes
import ctypes.util
import importlib
import importlib.util
import json
import math
import os
import shutil
import sys
import types

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import randomize  # noqa: E402  (same weight re-draw as the model fixtures)

from diffusers import DDPMScheduler, UNet2DModel, UniPCMultistepScheduler  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TweedieSamplersTests", "Fixtures",
                    "kdiffusion")
SHAPE = (2, 2, 8, 8)
STEPS = 10
# The network's noise prediction is eps(x_in, t) = x_in + RESIDUAL * UNet(x_in, t): an identity noise predictor (exact
# at large sigma for unit-scale data) with the random UNet as a residual, so samples stay O(1) as with a trained
# model and every step, down to the smallest sigma, moves the sample by a visible fraction of its size.
RESIDUAL = 0.1
# Stable Diffusion's training schedule (sigma 0.029 .. 14.6), the range k-diffusion's samplers are mostly run on.
TRAINING = dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)


def load_k_diffusion():
    """k_diffusion.sampling and .external; the package __init__ imports CLIP, so fall back to the bare modules."""
    try:
        import k_diffusion.external as external
        import k_diffusion.sampling as sampling
        return sampling, external
    except Exception:  # noqa: BLE001  (CLIP or one of its dependencies missing)
        for name in [m for m in sys.modules if m == "k_diffusion" or m.startswith("k_diffusion.")]:
            del sys.modules[name]
        spec = importlib.util.find_spec("k_diffusion")
        package = types.ModuleType("k_diffusion")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["k_diffusion"] = package
        return importlib.import_module("k_diffusion.sampling"), importlib.import_module("k_diffusion.external")


K, KEXT = load_k_diffusion()


def libm_logf():
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.logf.restype = ctypes.c_float
    libm.logf.argtypes = [ctypes.c_float]
    return libm.logf


def tiny_unet(path: str) -> UNet2DModel:
    torch.manual_seed(4100)
    model = UNet2DModel(
        sample_size=SHAPE[2], in_channels=SHAPE[1], out_channels=SHAPE[1],
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, attention_head_dim=8,
    ).eval()
    randomize(model, 4100)
    model.save_pretrained(path, safe_serialization=True)
    return UNet2DModel.from_pretrained(path).eval()


class Denoiser:
    """k-diffusion's DiscreteEpsDDPMDenoiser over the float64 network, with Tweedie's sigma table; counts calls."""

    def __init__(self, unet64, alphas_cumprod32):
        self.calls = 0

        def eps(x, t):
            self.calls += 1
            return x + RESIDUAL * unet64(x, t).sample

        self.model = KEXT.DiscreteEpsDDPMDenoiser(eps, alphas_cumprod32.double(), quantize=False)
        sigmas32 = ((1 - alphas_cumprod32) / alphas_cumprod32).sqrt()          # float32 IEEE ops, as VPSigmaTable
        logf = libm_logf()
        log32 = torch.tensor([logf(float(s)) for s in sigmas32], dtype=torch.float32)
        self.model.sigmas = sigmas32.double()
        self.model.log_sigmas = log32.double()
        self.sigmas32 = sigmas32

    def __call__(self, x, sigma, **kwargs):
        return self.model(x, sigma, **kwargs)


class ReplayRecorder:
    """A noise_sampler that draws seeded unit normals (float32), records them and returns them in float64."""

    def __init__(self, seed: int, shape):
        self.generator = torch.Generator().manual_seed(seed)
        self.shape = shape
        self.draws = []

    def draw(self, shape):
        z = torch.randn(shape, generator=self.generator, dtype=torch.float32)
        self.draws.append(z)
        return z.double()

    def __call__(self, sigma, sigma_next):
        return self.draw(self.shape)


class BrownianPairRecorder(ReplayRecorder):
    """dpmpp_sde's noise: per step one [N, 2, ...] draw, answered as increments of one Brownian path in sigma."""

    def __init__(self, seed: int, shape):
        super().__init__(seed, shape)
        self.pending = None

    def __call__(self, sigma, sigma_next):
        sigma, sigma_next = float(sigma), float(sigma_next)
        if self.pending is None:
            n, rest = self.shape[0], tuple(self.shape[1:])
            z = self.draw((n, 2) + rest)
            self.pending = (sigma, sigma_next, z)
            return z[:, 0]
        s0, s_mid, z = self.pending
        self.pending = None
        assert s0 == sigma, (s0, sigma)
        a, b = math.sqrt(sigma - s_mid), math.sqrt(s_mid - sigma_next)
        return (a * z[:, 0] + b * z[:, 1]) / math.sqrt(sigma - sigma_next)


def karras_sigmas(den: Denoiser):
    lo, hi = float(den.sigmas32[0]), float(den.sigmas32[-1])
    return K.get_sigmas_karras(STEPS, lo, hi, rho=7.0).to(torch.float32)


def run_k(den, name, function, sigmas32, x32, noise=None, **kwargs):
    """One k-diffusion run in float64; returns the case entry and its tensors."""
    x = x32.double()
    sigmas = sigmas32.double()
    steps = []

    def callback(info):
        if info["i"] > 0:
            steps.append(info["x"].detach().clone())

    den.calls = 0
    if noise is not None:
        kwargs["noise_sampler"] = noise
    out = function(den, x, sigmas, callback=callback, disable=True, **kwargs)
    steps.append(out)
    entry = {"sampler": name, "reference": f"k_diffusion.sampling.{function.__name__}",
             "sigmas": [float(s) for s in sigmas32], "model_calls": den.calls}
    return entry, x32, steps, noise.draws if noise is not None else []


def run_dpm_solver(den, name, sigmas32, x32):
    """sample_dpm_fast / sample_dpm_adaptive called as ComfyUI does, then the step to sigma 0."""
    x = x32.double()
    sigma_max = float(sigmas32[0])
    sigma_min = float(sigmas32[-1]) if float(sigmas32[-1]) > 0 else float(sigmas32[-2])
    steps = []
    den.calls = 0
    if name == "dpm_fast":
        n = len(sigmas32) - 1

        def callback(info):
            if info["i"] > 0:
                steps.append(info["x"].detach().clone())

        out = K.sample_dpm_fast(den, x, sigma_min, sigma_max, n, callback=callback, disable=True)
        reference = "k_diffusion.sampling.sample_dpm_fast"
        extra = {"n": n}
    else:
        accepted = [0]
        step_sigmas = []

        def callback(info):
            if info["n_accept"] > accepted[0]:
                accepted[0] = info["n_accept"]
                steps.append(info["x"].detach().clone())
                step_sigmas.append(float(info["sigma"]))

        out, info = K.sample_dpm_adaptive(den, x, sigma_min, sigma_max, callback=callback, disable=True,
                                          return_info=True)
        reference = "k_diffusion.sampling.sample_dpm_adaptive"
        extra = {"accepted": info["n_accept"], "rejected": info["n_reject"], "nfe": info["nfe"],
                 "step_sigmas": step_sigmas}
        assert len(steps) == info["n_accept"]
        steps.pop()  # the last accepted step's x is `out`
    steps.append(out)
    ones = x.new_ones([x.shape[0]])
    steps.append(den(out, torch.tensor(sigma_min, dtype=torch.float64) * ones))
    entry = {"sampler": name, "reference": reference, "sigmas": [float(s) for s in sigmas32],
             "sigma_min": sigma_min, "sigma_max": sigma_max, "model_calls": den.calls, **extra}
    return entry, x32, steps, []


def run_unipc(den, unit32):
    """diffusers' UniPCMultistepScheduler (defaults) for STEPS steps, the network called through the denoiser."""
    scheduler = UniPCMultistepScheduler(**TRAINING)
    scheduler.set_timesteps(STEPS)
    sigmas32 = scheduler.sigmas.clone().to(torch.float32)
    scheduler.sigmas = scheduler.sigmas.double()
    s0 = float(sigmas32[0])
    x32 = (unit32 * sigmas32[0]).to(torch.float32)
    sample = x32.double() / math.sqrt(1 + s0 * s0)
    ones = sample.new_ones([sample.shape[0]])
    steps = []
    den.calls = 0
    for i, t in enumerate(scheduler.timesteps):
        sigma = scheduler.sigmas[i]
        # D(x, sigma) = x - sigma * eps(x c_in, t(sigma)); the VP sample is x c_in, so the network input agrees.
        eps = den.model.inner_model(sample, den.model.sigma_to_t(sigma * ones))
        sample = scheduler.step(eps, t, sample).prev_sample
        s_next = float(scheduler.sigmas[i + 1])
        steps.append(sample * math.sqrt(1 + s_next * s_next))
    config = {k: v for k, v in scheduler.config.items() if not k.startswith("_")}
    entry = {"sampler": "uni_pc_bh2", "reference": "diffusers.UniPCMultistepScheduler",
             "sigmas": [float(s) for s in sigmas32], "model_calls": den.calls,
             "timesteps": [int(t) for t in scheduler.timesteps],
             "scheduler": {k: config[k] for k in ("solver_order", "solver_type", "predict_x0", "lower_order_final",
                                                  "timestep_spacing", "final_sigmas_type", "beta_schedule",
                                                  "beta_start", "beta_end", "num_train_timesteps")}}
    return entry, x32, steps, []


def main() -> None:
    torch.set_num_threads(2)
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "unet"))
    unet = tiny_unet(os.path.join(ROOT, "unet"))
    unet64 = copy.deepcopy(unet).double()
    abar32 = DDPMScheduler(**TRAINING).alphas_cumprod.to(torch.float32)
    den = Denoiser(unet64, abar32)
    torch.set_default_dtype(torch.float64)

    sigmas32 = karras_sigmas(den)
    unit = torch.randn(SHAPE, generator=torch.Generator().manual_seed(4200), dtype=torch.float32)
    x32 = (unit * sigmas32[0]).to(torch.float32)

    runs = []
    with torch.no_grad():
        plain = [("euler", K.sample_euler), ("heun", K.sample_heun), ("dpm2", K.sample_dpm_2),
                 ("lms", K.sample_lms), ("dpmpp_2m", K.sample_dpmpp_2m)]
        for name, fn in plain:
            runs.append(run_k(den, name, fn, sigmas32, x32))
        noisy = [("euler_a", K.sample_euler_ancestral), ("dpm2_a", K.sample_dpm_2_ancestral),
                 ("dpmpp_2s_a", K.sample_dpmpp_2s_ancestral), ("dpmpp_2m_sde", K.sample_dpmpp_2m_sde),
                 ("dpmpp_3m_sde", K.sample_dpmpp_3m_sde)]
        for seed, (name, fn) in enumerate(noisy):
            runs.append(run_k(den, name, fn, sigmas32, x32, noise=ReplayRecorder(4300 + seed, SHAPE)))
        runs.append(run_k(den, "dpmpp_sde", K.sample_dpmpp_sde, sigmas32, x32,
                          noise=BrownianPairRecorder(4400, SHAPE)))
        for name in ("dpm_fast", "dpm_adaptive"):
            runs.append(run_dpm_solver(den, name, sigmas32, x32))
        runs.append(run_unipc(den, unit))

    cases = {}
    tensors = {}
    for entry, initial, steps, draws in runs:
        name = entry["sampler"]
        entry["draws"] = len(draws)
        entry["steps"] = len(steps)
        cases[name] = entry
        tensors[f"{name}.initial"] = initial.to(torch.float32).clone().contiguous()
        tensors[f"{name}.steps"] = torch.stack(steps).to(torch.float32).contiguous()
        if draws:
            tensors[f"{name}.draws"] = torch.stack(draws).to(torch.float32).contiguous()
        final = steps[-1]
        print(f"{name:13s} {entry['reference']:45s} steps {len(steps):3d} draws {len(draws):2d} "
              f"calls {entry['model_calls']:3d}  final max |x| {final.abs().max():.4f}")
    save_file(tensors, os.path.join(ROOT, "tensors.safetensors"))
    document = {"shape": list(SHAPE), "alphas_cumprod": [float(a) for a in abar32], "residual": RESIDUAL,
                "network": "eps(x_in, t) = x_in + residual * UNet(x_in, t)", "cases": cases}
    with open(os.path.join(ROOT, "cases.json"), "w") as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
