#!/usr/bin/env python3
"""Reference fixtures for TweedieSamplersTests.

Writes JSON files into Tests/TweedieSamplersTests/Fixtures/:
  torch_randn.json   torch.randn values (both CPU kernels: the x86 vectorised one and the DEFAULT one) for several
                     sizes, seeds and draw sequences from one generator.
  schedules.json     alphas_cumprod samples and diffusers' timesteps/sigmas for each scheduler family and spacing.
  trajectories.json  full sampling runs of diffusers' schedulers on an analytic "network"
                     eps(x, t) = tanh(0.5 x + 0.001 t cos x), with the initial latent, every per-step noise the
                     scheduler drew, and the final sample.

Usage: python3 scripts/make_sampler_fixtures.py            (needs torch, diffusers, numpy)
The DEFAULT-kernel randn values come from a child process run with ATEN_CPU_CAPABILITY=default.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TweedieSamplersTests", "Fixtures")

RANDN_CASES = [(0, [1]), (0, [7]), (3, [16]), (0, [17]), (42, [100]), (1234, [3, 32, 32]), (2024, [2, 4, 8, 8])]
# Draws in sequence from one generator: exercises the cached second Box-Muller value and stream continuation.
RANDN_SEQUENCES = [(5, [[7], [20], [3], [1], [33]])]


def floats(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def randn_values():
    out = {"single": [], "sequences": []}
    for seed, shape in RANDN_CASES:
        g = torch.Generator().manual_seed(seed)
        out["single"].append({"seed": seed, "shape": shape, "values": floats(torch.randn(shape, generator=g))})
    for seed, shapes in RANDN_SEQUENCES:
        g = torch.Generator().manual_seed(seed)
        draws = [floats(torch.randn(s, generator=g)) for s in shapes]
        out["sequences"].append({"seed": seed, "shapes": shapes, "values": draws})
    return out


def randn_fixture():
    vec = randn_values()
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    child = subprocess.run([sys.executable, __file__, "--randn-only"], env=env, check=True,
                           capture_output=True, text=True)
    scalar = json.loads(child.stdout)
    return {"torch_version": torch.__version__,
            "vectorized_capability": torch.backends.cpu.get_cpu_capability(),
            "vectorized": vec, "scalar": scalar}


# ---------------------------------------------------------------------------------------------------------------
# Schedules

SD_CONFIG = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
LINEAR_CONFIG = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear")
COS_CONFIG = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")


def schedules_fixture():
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

    cases = []
    for name, base in [("sd", SD_CONFIG), ("linear", LINEAR_CONFIG), ("cosine", COS_CONFIG)]:
        ddim = DDIMScheduler(**base)
        ac = ddim.alphas_cumprod.double().numpy()
        entry = {"name": name, "config": base,
                 "alphas_cumprod_index": [0, 1, 10, 500, 998, 999],
                 "alphas_cumprod": [float(ac[i]) for i in [0, 1, 10, 500, 998, 999]],
                 "families": []}
        for steps in (10, 30):
            for spacing in ("leading", "trailing", "linspace"):
                for offset in (0, 1):
                    s = DDIMScheduler(**base, timestep_spacing=spacing, steps_offset=offset)
                    s.set_timesteps(steps)
                    entry["families"].append({"family": "discrete", "spacing": spacing, "steps_offset": offset,
                                              "steps": steps, "timesteps": [int(t) for t in s.timesteps]})
                    e = EulerDiscreteScheduler(**base, timestep_spacing=spacing, steps_offset=offset)
                    e.set_timesteps(steps)
                    entry["families"].append({"family": "euler", "spacing": spacing, "steps_offset": offset,
                                              "steps": steps, "timesteps": floats(e.timesteps),
                                              "sigmas": floats(e.sigmas),
                                              "init_noise_sigma": float(e.init_noise_sigma)})
                    d = DPMSolverMultistepScheduler(**base, timestep_spacing=spacing, steps_offset=offset)
                    d.set_timesteps(steps)
                    entry["families"].append({"family": "dpmsolver", "spacing": spacing, "steps_offset": offset,
                                              "steps": steps, "timesteps": [int(t) for t in d.timesteps],
                                              "sigmas": floats(d.sigmas)})
            k = EulerDiscreteScheduler(**base, use_karras_sigmas=True)
            k.set_timesteps(steps)
            sig = k.sigmas.numpy()
            entry["families"].append({"family": "karras", "steps": steps, "sigma_min": float(sig[-2]),
                                      "sigma_max": float(sig[0]), "timesteps": floats(k.timesteps),
                                      "sigmas": floats(k.sigmas)})
        cases.append(entry)
    return cases


# ---------------------------------------------------------------------------------------------------------------
# Trajectories

SHAPE = [2, 3, 4, 4]


def analytic_net(x, t):
    """The stand-in network: elementwise, smooth, nonlinear, and dependent on the timestep."""
    return torch.tanh(0.5 * x + 0.001 * float(t) * torch.cos(x))


class Recorder:
    """Wraps randn_tensor inside a scheduler module so every noise draw is stored."""

    def __init__(self, module):
        self.module = module
        self.original = module.randn_tensor
        self.draws = []

    def __enter__(self):
        def wrapped(*args, **kwargs):
            t = self.original(*args, **kwargs)
            self.draws.append(floats(t))
            return t
        self.module.randn_tensor = wrapped
        return self

    def __exit__(self, *exc):
        self.module.randn_tensor = self.original


def run(scheduler_cls, module, config, steps, seed, space, step_kwargs=None, set_kwargs=None):
    sched = scheduler_cls(**config)
    sched.set_timesteps(steps, **(set_kwargs or {}))
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randn(SHAPE, generator=gen) * sched.init_noise_sigma
    initial = floats(latents)
    with Recorder(module) as rec:
        for t in sched.timesteps:
            inp = sched.scale_model_input(latents, t)
            out = analytic_net(inp, t)
            latents = sched.step(out, t, latents, generator=gen, **(step_kwargs or {})).prev_sample
    # Strict JSON has no infinities (lambda_min_clipped = -inf): such fields are left out.
    full = {"_class_name": scheduler_cls.__name__,
            **{k: v for k, v in dict(sched.config).items()
               if not k.startswith("_") and not (isinstance(v, float) and not math.isfinite(v))}}
    return {"config": full, "steps": steps, "seed": seed, "shape": SHAPE, "space": space,
            "timesteps": floats(sched.timesteps.float()),
            "sigmas": floats(sched.sigmas) if hasattr(sched, "sigmas") else None,
            "initial": initial, "noise": rec.draws, "final": floats(latents)}


def class_net(x, t, labels):
    """Class-conditional stand-in with learned-sigma style output: [eps, 3 * eps] along channels."""
    lab = labels.float().view(-1, *([1] * (x.dim() - 1)))
    eps = torch.tanh(0.5 * x + 0.001 * float(t) * torch.cos(x) + 0.001 * lab)
    return torch.cat([eps, 3 * eps], dim=1)


def run_cfg(config, steps, seed, labels, null_class, scale):
    """A DiT-pipeline style loop: cond and uncond as one batch, CFG on eps, DDIM steps on the N latents."""
    from diffusers import DDIMScheduler
    sched = DDIMScheduler(**config)
    sched.set_timesteps(steps)
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randn(SHAPE, generator=gen)
    initial = floats(latents)
    n, c = SHAPE[0], SHAPE[1]
    lab = torch.tensor(labels + [null_class] * n)
    for t in sched.timesteps:
        out = class_net(torch.cat([latents, latents]), t, lab)[:, :c]
        cond, uncond = out.chunk(2)
        latents = sched.step(uncond + scale * (cond - uncond), t, latents).prev_sample
    full = {"_class_name": "DDIMScheduler", **{k: v for k, v in dict(sched.config).items() if not k.startswith("_")}}
    return {"config": full, "steps": steps, "seed": seed, "shape": SHAPE, "space": "vp", "labels": labels,
            "null_class": null_class, "guidance_scale": scale, "timesteps": floats(sched.timesteps.float()),
            "sigmas": None, "initial": initial, "noise": [], "final": floats(latents)}


def trajectories_fixture():
    from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                           EulerAncestralDiscreteScheduler, EulerDiscreteScheduler)
    from diffusers.schedulers import (scheduling_ddim, scheduling_ddpm, scheduling_dpmsolver_multistep,
                                      scheduling_euler_ancestral_discrete, scheduling_euler_discrete)
    sd_leading = dict(SD_CONFIG, timestep_spacing="leading", steps_offset=1)
    cases = {}
    cases["ddpm"] = run(DDPMScheduler, scheduling_ddpm, dict(LINEAR_CONFIG, clip_sample=True), 25, 1, "vp")
    cases["ddim"] = run(DDIMScheduler, scheduling_ddim,
                        dict(sd_leading, clip_sample=False, set_alpha_to_one=False), 20, 2, "vp")
    cases["ddim_eta"] = run(DDIMScheduler, scheduling_ddim, dict(sd_leading, clip_sample=False), 20, 3, "vp",
                            step_kwargs={"eta": 0.5})
    cases["ddim_v"] = run(DDIMScheduler, scheduling_ddim,
                          dict(COS_CONFIG, timestep_spacing="trailing", prediction_type="v_prediction",
                               clip_sample=False), 20, 4, "vp")
    cases["euler"] = run(EulerDiscreteScheduler, scheduling_euler_discrete, sd_leading, 20, 5, "sigma")
    cases["euler_trailing"] = run(EulerDiscreteScheduler, scheduling_euler_discrete,
                                  dict(SD_CONFIG, timestep_spacing="trailing"), 20, 6, "sigma")
    cases["euler_karras"] = run(EulerDiscreteScheduler, scheduling_euler_discrete,
                                dict(sd_leading, use_karras_sigmas=True), 15, 7, "sigma")
    cases["euler_a"] = run(EulerAncestralDiscreteScheduler, scheduling_euler_ancestral_discrete,
                           sd_leading, 20, 8, "sigma")
    cases["dpmpp_2m"] = run(DPMSolverMultistepScheduler, scheduling_dpmsolver_multistep, SD_CONFIG, 20, 9, "vp")
    cases["dpmpp_2m_sde"] = run(DPMSolverMultistepScheduler, scheduling_dpmsolver_multistep,
                                dict(SD_CONFIG, algorithm_type="sde-dpmsolver++"), 20, 10, "vp")
    cases["ddim_cfg"] = run_cfg(dict(LINEAR_CONFIG, clip_sample=False, timestep_spacing="trailing"), 20, 11,
                                [3, 7], 1000, 4.0)
    return cases


def dump(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    if "--randn-only" in sys.argv:
        print(json.dumps(randn_values()))
        return
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    dump("torch_randn.json", randn_fixture())
    dump("schedules.json", schedules_fixture())
    dump("trajectories.json", trajectories_fixture())


if __name__ == "__main__":
    main()
