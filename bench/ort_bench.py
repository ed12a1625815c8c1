#!/usr/bin/env python3
"""ONNX Runtime peer of `tweedie bench`.

`--export` writes the model folder's forward call at one batch size to ONNX (static shapes; the torch.export-based
exporter, or the legacy TorchScript one when that fails) and exits; the timing run then loads only onnxruntime and
numpy, so its peak RSS is that of the ORT process alone. Prints one JSON object like torch_bench.py.
"""
import argparse
import os

from benchlib import SEED, TIMESTEP, check_args, common_args, fail, input_shapes, read_config, report, time_calls


def onnx_path(args):
    name = os.path.basename(os.path.normpath(args.model))
    return os.path.join(args.onnx_dir, f"{name}-b{args.batch}.onnx")


def export(args, config, kind, shape, classes, path):
    import torch
    from diffusers import AutoencoderKL, DiTTransformer2DModel, UNet2DModel

    torch.set_num_threads(args.threads)
    loader = {"unet": UNet2DModel, "dit": DiTTransformer2DModel, "vae": AutoencoderKL}[kind]
    model = loader.from_pretrained(args.model).eval()

    class Forward(torch.nn.Module):
        """The raw network output as one tensor, with the inputs the Tweedie call takes."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            if kind == "vae":
                return self.inner.decode(inputs[0]).sample
            if kind == "dit":
                return self.inner(inputs[0], timestep=inputs[1], class_labels=inputs[2]).sample
            labels = inputs[2] if len(inputs) > 2 else None
            return self.inner(inputs[0], inputs[1], class_labels=labels).sample

    g = torch.Generator().manual_seed(SEED)
    inputs = [torch.randn(shape, generator=g)]
    names = ["sample"]
    if kind != "vae":
        inputs.append(torch.full((args.batch,), TIMESTEP))
        names.append("timestep")
        if classes:
            inputs.append(torch.randint(0, classes, (args.batch,), generator=g))
            names.append("class_labels")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with torch.inference_mode():
        reference = Forward(model)(*inputs)
        exporter = args.exporter
        if exporter in ("auto", "dynamo"):
            try:
                torch.onnx.export(Forward(model), tuple(inputs), tmp, input_names=names, output_names=["out"],
                                  opset_version=18, dynamo=True)
                exporter = "dynamo"
            except Exception as e:  # the new exporter needs onnxscript and may reject some graphs
                if exporter == "dynamo":
                    fail(f"{path}: torch.export-based ONNX export failed ({type(e).__name__}: {e})".splitlines()[0], 1)
                exporter = "legacy"
        if exporter == "legacy":
            torch.onnx.export(Forward(model), tuple(inputs), tmp, input_names=names, output_names=["out"],
                              opset_version=17, dynamo=False)
    os.replace(tmp, path)
    # Check the exported graph computes the same function before it is ever timed.
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: i.numpy() for n, i in zip(names, inputs)})[0]
    err = float(np.abs(got - reference.numpy()).max() / (np.abs(reference.numpy()).max() + 1e-12))
    if err > 1e-3:
        fail(f"{path}: exported graph differs from PyTorch (relative max error {err:.2e})", 1)
    print(f"exported {path} with the {exporter} exporter (relative max error vs PyTorch {err:.1e})")


def main():
    parser = common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--onnx-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work", "onnx"))
    parser.add_argument("--export", action="store_true", help="export the ONNX graph for this batch and exit")
    parser.add_argument("--exporter", choices=["auto", "dynamo", "legacy"], default="auto",
                        help="ONNX exporter: auto tries the torch.export-based one, then the legacy TorchScript one")
    args = parser.parse_args()
    check_args(args)
    config = read_config(args.model)
    kind, shape, classes = input_shapes(config, args.batch)
    path = onnx_path(args)

    if args.export:
        export(args, config, kind, shape, classes, path)
        return
    if not os.path.exists(path):
        fail(f"{path}: not exported yet (run with --export first)")

    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(SEED)
    feeds = {"sample": rng.standard_normal(shape, dtype=np.float32)}
    names = {i.name for i in sess.get_inputs()}
    if "timestep" in names:
        feeds["timestep"] = np.full((args.batch,), TIMESTEP, dtype=np.float32)
    if "class_labels" in names:
        feeds["class_labels"] = rng.integers(0, classes, (args.batch,), dtype=np.int64)
    times = time_calls(lambda: sess.run(None, feeds), args.warmup, args.iters)
    report("onnxruntime", args, times, ort_version=ort.__version__)


if __name__ == "__main__":
    main()
