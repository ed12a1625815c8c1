#!/usr/bin/env python3
"""Proves that LoRA files written by `tweedie finetune` load in diffusers and peft, and that LoRA files written by
diffusers load in Tweedie, by comparing raw network outputs.

1. `tweedie finetune` trains a LoRA on the model (a few updates with a high learning rate, LoRA on every linear and
   convolution layer, so attention, resnet convolutions and embeddings are all exercised).
2. diffusers: the model class with `PeftAdapterMixin` mixed in (UNet2DModel does not carry it, the pipelines'
   `load_lora_weights` then calls exactly this) runs `load_lora_adapter(FILE, prefix="unet")`, which reads the
   tensors and the `lora_adapter_metadata` LoraConfig; peft alone: `inject_adapter_in_model` with the file's
   LoraConfig plus `set_peft_model_state_dict`. Both outputs are compared with `tweedie forward --lora FILE`.
3. The other way: peft attaches a random LoRA (r 3, alpha 6) to the attention projections, diffusers'
   `write_lora_layers` saves it, and `tweedie forward --lora` reads it.

Relative errors are max |a - b| / max |b| on the same input (seeded noise, timesteps 10 and 600, two classes); the
LoRA's own effect (with against without) is printed beside them so the agreement means something. With --store
the result goes to bench/results/lora-diffusers.json (README cites it).

Needs torch, diffusers, peft, safetensors (pip install peft). Usage:
    scripts/check_lora_diffusers.py [--model assets/fashion32] [--tweedie .build/release/tweedie] [--store]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
from diffusers import UNet2DModel
from diffusers.loaders import PeftAdapterMixin
from diffusers.loaders.lora_base import LoraBaseMixin
from safetensors import safe_open
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))


class LoRAUNet(UNet2DModel, PeftAdapterMixin):
    """UNet2DModel with diffusers' adapter loader (what UNet2DConditionModel carries)."""


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def tweedie_forward(tweedie, model, inputs, loras, work, tag):
    out = os.path.join(work, f"out-{tag}.safetensors")
    cmd = [tweedie, "forward", "--model", model, "--input", inputs, "--output", out, "--threads", "1"]
    for l in loras:
        cmd += ["--lora", l]
    subprocess.run(cmd, check=True)
    return load_file(out)["sample"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "assets", "fashion32"))
    ap.add_argument("--tweedie", default=os.path.join(ROOT, ".build", "release", "tweedie"))
    ap.add_argument("--store", action="store_true", help="write bench/results/lora-diffusers.json")
    a = ap.parse_args()
    torch.manual_seed(0)
    work = tempfile.mkdtemp(prefix="tweedie-lora-")
    base = LoRAUNet.from_pretrained(a.model).eval()
    cfg = base.config

    # 1. A LoRA trained here.
    run = os.path.join(work, "run")
    subprocess.run([a.tweedie, "finetune", "-m", a.model, "--reward", "colorfulness", "--steps", "3", "--batch", "1",
                    "--accumulate", "1", "--sampling-steps", "3", "--truncation", "full", "--lr", "5e-2",
                    "--lora-targets", "all", "--lora-rank", "2", "--out", run, "--threads", "2", "--progress", "none"],
                   check=True)
    ours = os.path.join(run, "lora.safetensors")

    # The input every engine sees.
    n = 2
    x = torch.randn(n, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    t = torch.tensor([10, 600], dtype=torch.int64)
    labels = torch.tensor([1, 7], dtype=torch.int64)
    inputs = os.path.join(work, "in.safetensors")
    save_file({"sample": x, "timestep": t, "class_labels": labels}, inputs)

    def run_torch(m):
        with torch.no_grad():
            return m(x, t, class_labels=labels).sample

    out_base = run_torch(base)
    tw_base = tweedie_forward(a.tweedie, a.model, inputs, [], work, "base")
    tw_ours = tweedie_forward(a.tweedie, a.model, inputs, [ours], work, "ours")

    # 2a. diffusers' loader.
    m = LoRAUNet.from_pretrained(a.model).eval()
    m.load_lora_adapter(ours, prefix="unet", adapter_name="tweedie")
    out_diffusers = run_torch(m)
    loaded_modules = sum(1 for _, mod in m.named_modules() if hasattr(mod, "lora_A") and "tweedie" in mod.lora_A)

    # 2b. peft alone, from the file's LoraConfig.
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    with safe_open(ours, "pt") as f:
        meta = json.loads(f.metadata()["lora_adapter_metadata"])
    config = {k[len("unet."):]: v for k, v in meta.items() if k.startswith("unet.")}
    state = {k[len("unet."):]: v for k, v in load_file(ours).items()}
    p = UNet2DModel.from_pretrained(a.model).eval()
    p = inject_adapter_in_model(LoraConfig(**config), p)
    result = set_peft_model_state_dict(p, state)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    out_peft = run_torch(p)

    # 3. A LoRA written by diffusers, read by Tweedie.
    q = UNet2DModel.from_pretrained(a.model).eval()
    targets = ["to_q", "to_k", "to_v", "to_out.0"]
    q = inject_adapter_in_model(LoraConfig(r=3, lora_alpha=6, target_modules=targets, init_lora_weights=False), q)
    from peft import get_peft_model_state_dict
    theirs_state = {"unet." + k: v.contiguous() for k, v in get_peft_model_state_dict(q).items()}
    theirs_meta = {"unet.r": 3, "unet.lora_alpha": 6, "unet.target_modules": targets}
    LoraBaseMixin.write_lora_layers(theirs_state, work, is_main_process=True, weight_name="theirs.safetensors",
                                    save_function=None, safe_serialization=True, lora_adapter_metadata=theirs_meta)
    theirs = os.path.join(work, "theirs.safetensors")
    out_theirs = run_torch(q)
    tw_theirs = tweedie_forward(a.tweedie, a.model, inputs, [theirs], work, "theirs")

    data = {
        "model": os.path.relpath(a.model, ROOT) if a.model.startswith(ROOT) else a.model,
        "lora_layers": len(meta["unet.target_modules"]),
        "diffusers_modules_with_lora": loaded_modules,
        "peft_unexpected_keys": len(unexpected),
        "base_tweedie_vs_torch": rel(tw_base, out_base),
        "lora_effect": rel(out_diffusers, out_base),
        "tweedie_lora_vs_diffusers_load_lora_adapter": rel(tw_ours, out_diffusers),
        "tweedie_lora_vs_peft": rel(tw_ours, out_peft),
        "diffusers_written_lora_effect": rel(out_theirs, out_base),
        "diffusers_written_lora_tweedie_vs_torch": rel(tw_theirs, out_theirs),
    }
    for k, v in data.items():
        print(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}")
    ok = (loaded_modules == data["lora_layers"] and not unexpected
          and data["tweedie_lora_vs_diffusers_load_lora_adapter"] < 1e-4 and data["tweedie_lora_vs_peft"] < 1e-4
          and data["diffusers_written_lora_tweedie_vs_torch"] < 1e-4
          and data["lora_effect"] > 100 * data["tweedie_lora_vs_diffusers_load_lora_adapter"])
    print("check-lora-diffusers: " + ("agree" if ok else "DIFFER"))
    if a.store:
        import claims as C
        path = C.write_result("lora-diffusers", data, " ".join(["scripts/check_lora_diffusers.py"] + sys.argv[1:]),
                              tweedie=a.tweedie, packages=("torch", "diffusers", "peft", "safetensors"))
        print(f"stored {os.path.relpath(path, ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
