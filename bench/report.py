#!/usr/bin/env python3
"""Turns the raw per-run JSON files of bench/run into the stored result bench/results/<name>.json and prints its
Markdown table (claims.render_perf: the same renderer scripts/check-claims checks the README with).

Each cell's per-call times from all rounds are pooled before the median is taken, so interleaved rounds count
as one measurement; peak RSS is the largest any round's process reached.
"""
import argparse
import glob
import json
import os

import claims
from benchlib import load_result


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("raw", help="folder of cell~<model>~<batch>~<engine>~r<round>.json files, sgemm-*.json, meta.json")
    ap.add_argument("--result", default="perf", help="name of the stored result (bench/results/NAME.json)")
    ap.add_argument("--tweedie", help="the tweedie executable timed (for the machine's OpenBLAS kernel)")
    ap.add_argument("--render-only", action="store_true", help="print the table of the stored result, run nothing")
    args = ap.parse_args()
    if not args.render_only:
        meta = load_result(os.path.join(args.raw, "meta.json"))
        runs = []
        for path in sorted(glob.glob(os.path.join(args.raw, "cell~*.json"))):
            _, model, batch, engine, rnd = os.path.basename(path)[:-5].split("~")
            runs.append({"model": model, "batch": int(batch), "engine": engine, "round": int(rnd[1:]),
                         "result": load_result(path)})
        data = {"threads": meta["threads"], "models": meta["models"], "rounds": meta["rounds"],
                "sgemm_tweedie": load_result(os.path.join(args.raw, "sgemm-tweedie.json")),
                "sgemm_ref": load_result(os.path.join(args.raw, "sgemm-ref.json")), "runs": runs}
        claims.write_result(args.result, data, meta["command"], tweedie=args.tweedie,
                            packages=("torch", "diffusers", "onnxruntime", "onnx", "numpy"),
                            load_before=meta["load_before"], load_after=meta["load_after"])
    print(claims.render_perf(claims.read_result(args.result)))


if __name__ == "__main__":
    main()
