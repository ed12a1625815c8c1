"""Shared pieces of the peer benchmarks: the same inputs, timing protocol and report keys as `tweedie bench`."""
import json
import os
import resource
import statistics
import sys
import time

TIMESTEP = 500.0
SEED = 0


def fail(msg, code=2):
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(code)


def read_config(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        fail(f"{path}: cannot read ({e.strerror})")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON ({e})")


def kind_of(config):
    """'unet', 'dit' or 'vae' from the folder's _class_name (the same rule as ModelFolder.load)."""
    name = config.get("_class_name", "")
    if name == "UNet2DModel":
        return "unet"
    if name == "DiTTransformer2DModel" or (name == "Transformer2DModel" and config.get("patch_size")):
        return "dit"
    if name == "AutoencoderKL":
        return "vae"
    fail(f"config.json: _class_name {name!r} is not a benchmarkable model")


def input_shapes(config, batch):
    """Shapes and extra inputs of one denoiser (or VAE decoder) call at this batch size."""
    kind = kind_of(config)
    size = config.get("sample_size", 32)
    size = size[0] if isinstance(size, list) else size
    if kind == "vae":
        latent = config.get("latent_channels", 4)
        down = 2 ** (len(config.get("block_out_channels", [64])) - 1)
        return kind, [batch, latent, size // down, size // down], None
    channels = config.get("in_channels", 4 if kind == "dit" else 3)
    classes = config.get("num_embeds_ada_norm") if kind == "dit" else config.get("num_class_embeds")
    return kind, [batch, channels, size, size], classes


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def time_calls(call, warmup, iters):
    """Runs `call` warmup times untimed, then iters times on the monotonic clock; returns per-call ms."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


def common_args(parser):
    parser.add_argument("--model", required=True, help="model folder (config.json + safetensors)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    return parser


def check_args(args):
    if args.batch < 1 or args.threads < 1 or args.warmup < 0 or args.iters < 1:
        fail("--batch, --threads and --iters must be >= 1, --warmup >= 0")
    if not os.path.isdir(args.model):
        fail(f"--model {args.model}: no such folder")


def report(engine, args, times, **extra):
    out = {
        "median_ms": statistics.median(times),
        "peak_rss_mb": peak_rss_mb(),
        "engine": engine,
        "model": os.path.basename(os.path.normpath(args.model)),
        "batch": args.batch,
        "threads": args.threads,
        "warmup": args.warmup,
        "iters": args.iters,
        "times_ms": [round(t, 3) for t in times],
    }
    out.update(extra)
    print(json.dumps(out))


def load_result(path):
    """One engine's JSON result file, or an error record naming the file (the report shows it, never crashes)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        return {"status": "error", "reason": f"{os.path.basename(path)}: {e}"}
