#!/usr/bin/env python3
"""Reads runner's TensorBoard event files with the `tensorboard` package's own
reader and compares them with the CSV files they were made from (issue 18).

For every run TensorBoard finds under a pipeline's results folder (the same
EventMultiplexer `tensorboard --logdir` uses, whose record reader checks both
CRCs of every record), it prints the run's name and checks that

  * a training run (`runs/<T>/tb/...`) has one point per train_log.csv row for
    each loss column (`loss/total`, `loss/<term>`, `loss/kl`) and `train/lr`,
    at the row's step, with the row's value (as float32), each step once, and
    `train/images_per_s` at those steps;
  * an eval (`runs/<T>/eval/<E>/tb/...`) has `eval/<metric>` and
    `eval/<metric>_std` equal to its summary.csv's mean and std, at the last
    step of its training run.

Not part of CI. Needs `pip install tensorboard`. Run from the repository root,
after running a pipeline:
    .bench-venv/bin/python bench/tensorboard_check.py results/<pipeline>
Exit 0 when everything matches, 1 otherwise.
"""

import csv
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator, event_multiplexer


def node_dir(run_path):
    """The node folder above a run's `tb` folder."""
    parts = os.path.normpath(run_path).split(os.sep)
    return os.sep.join(parts[: len(parts) - 1 - parts[::-1].index("tb")])


def f32(text):
    return float(np.float32(float(text)))


def check_train(acc, folder, problems):
    with open(os.path.join(folder, "train_log.csv")) as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    steps = [int(r[1]) for r in rows]
    columns = {("loss/total" if c == "loss" else f"loss/{c}"): i for i, c in enumerate(header[2:-2], 2)}
    columns["train/lr"] = len(header) - 2
    for tag, i in columns.items():
        points = acc.Scalars(tag)
        got = [(p.step, p.value) for p in points]
        want = [(s, f32(r[i])) for s, r in zip(steps, rows)]
        if got != want:
            problems.append(f"{folder}: {tag} differs from train_log.csv: {got[:3]}... vs {want[:3]}...")
    rate_steps = [p.step for p in acc.Scalars("train/images_per_s")]
    if not set(rate_steps) <= set(steps) or len(set(rate_steps)) != len(rate_steps):
        problems.append(f"{folder}: train/images_per_s at steps {rate_steps}")
    if len(set(steps)) != len(steps):
        problems.append(f"{folder}: train_log.csv repeats a step")
    return f"{len(rows)} steps ({steps[0]}..{steps[-1]}), tags {sorted(acc.Tags()['scalars'])}"


def check_eval(acc, folder, problems):
    run = os.path.dirname(os.path.dirname(folder))
    with open(os.path.join(run, "train_log.csv")) as f:
        last_step = int(list(csv.reader(f))[-1][1])
    with open(os.path.join(folder, "summary.csv")) as f:
        rows = list(csv.reader(f))[1:]
    for name, mean, std in rows:
        for tag, text in ((f"eval/{name}", mean), (f"eval/{name}_std", std)):
            got = [(p.step, p.value) for p in acc.Scalars(tag)]
            if got != [(last_step, f32(text))]:
                problems.append(f"{folder}: {tag} = {got}, summary.csv {text} at step {last_step}")
    return f"{len(rows)} metrics at step {last_step}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    logdir = sys.argv[1]
    mux = event_multiplexer.EventMultiplexer(size_guidance={event_accumulator.SCALARS: 0})
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    problems = []
    runs = sorted(mux.Runs())
    if not runs:
        problems.append(f"no TensorBoard runs under {logdir}")
    for run in runs:
        acc = mux.GetAccumulator(run)
        folder = node_dir(os.path.join(logdir, run))
        if os.path.basename(os.path.dirname(folder)) == "eval":
            what = check_eval(acc, folder, problems)
        else:
            what = check_train(acc, folder, problems)
        print(f"{run}: {what}")
    for p in problems:
        print("MISMATCH", p)
    print(f"{len(runs)} runs, {'all match' if not problems else f'{len(problems)} mismatches'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
