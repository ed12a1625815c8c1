#!/usr/bin/env python3
"""Turns the raw per-run JSON files of bench/train into the stored result bench/results/<name>.json and prints its
Markdown tables (claims.render_train: the same renderer scripts/check-claims checks the README with).

A cell is (threads, gradient checkpointing). Per engine, the timed steps of all rounds are pooled before the
median is taken; Tweedie's first `warmup` steps of every run are dropped, PyTorch's runs report only timed steps.
ms/step is the step without its data phase (forward + backward + optimizer), since the two engines prepare
different data; samples/s is batch / that median. Peak RSS is the largest any round reached.
"""
import argparse
import glob
import os

import claims
from benchlib import load_result


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("raw", help="folder of cell~<threads>~<gc>~<engine>~r<round>.json files plus meta.json")
    ap.add_argument("--result", default="train", help="name of the stored result (bench/results/NAME.json)")
    ap.add_argument("--tweedie", help="the tweedie executable timed (for the machine's OpenBLAS kernel)")
    ap.add_argument("--render-only", action="store_true", help="print the tables of the stored result, run nothing")
    args = ap.parse_args()
    if not args.render_only:
        meta = load_result(os.path.join(args.raw, "meta.json"))
        runs = []
        for path in sorted(glob.glob(os.path.join(args.raw, "cell~*.json"))):
            _, threads, gc, engine, rnd = os.path.basename(path)[:-5].split("~")
            runs.append({"threads": int(threads), "checkpointing": int(gc), "engine": engine, "round": int(rnd[1:]),
                         "result": load_result(path)})
        data = {"recipe": os.path.relpath(meta["recipe"], claims.ROOT), "warmup": meta["warmup"],
                "steps": meta["steps"], "rounds": meta["rounds"], "runs": runs}
        claims.write_result(args.result, data, meta["command"], tweedie=args.tweedie,
                            packages=("torch", "diffusers"), load_before=meta["load_before"],
                            load_after=meta["load_after"])
    print(claims.render_train(claims.read_result(args.result)))


if __name__ == "__main__":
    main()
