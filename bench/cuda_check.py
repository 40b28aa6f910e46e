#!/usr/bin/env python3
"""Checks of the CUDA build on a GPU machine (issue 6); standard library only.

  smoke      every network (Shape, MNIST, CelebA, Dalal), every last-layer
             up-sampler and every loss term trains a few steps with
             train.device: cuda and writes finite losses and metrics.
  agreement  the same pipeline and seeds for 300 steps on the CPU and on CUDA
             (bench/cuda_agreement.yaml: the Shape net, N.1.5, BCE mixed with
             each spectral term); per logged row the loss and every term must
             agree within --rtol (relative, default 1e-2) and the final eval
             metric means within --metric-rtol (default 2e-2). Prints the
             largest differences seen; exit 1 when a tolerance is exceeded.

Needs a runner built with `--features cuda` (bench/build_for_gpu.sh writes it to
.gpu/runner). Run from the repository root:
    python3 bench/cuda_check.py all
"""

import argparse
import csv
import math
import os
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Options that exercise another code path than a term's defaults (learned
# parameters, patches, padding); every other term runs with its defaults.
TERM_VARIANTS = {
    "mse": "{mse: {sigma_mode: learned}}",
    "ssim": "{ssim: {variant: zero_padded}}",
    "ffl": "{ffl: {patch_factor: 2}}",
    "wiener": "{wiener: {kernel: learned, kernel_size: 5}}",
}


def terms(runner, skip=()):
    """Every loss term the runner knows (`runner terms --defaults`), as a flow list."""
    lines = subprocess.run(
        [runner, "terms", "--defaults"], check=True, capture_output=True, text=True
    ).stdout.split("\n")
    chosen = []
    for line in filter(None, lines):
        name = line[1:].split(":", 1)[0]
        if name not in skip:
            chosen.append(TERM_VARIANTS.get(name, line))
    return "[" + ", ".join(chosen) + "]"


UPSAMPLERS = "[convt, n13, n15, n17, b13, b15, b17, z13, z15, z17, n35, b35, z35]"


def write_png(path, pixels, side):
    """An 8-bit RGB PNG of `side` x `side` from a flat list of (r, g, b)."""
    rows = b"".join(
        b"\x00" + bytes(v for rgb in pixels[y * side : (y + 1) * side] for v in rgb)
        for y in range(side)
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header))
        f.write(chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def image_folder(root, count=48, side=64):
    """train/ and test/ folders of smooth synthetic RGB images (a disc on a ramp)."""
    for split, n in (("train", count), ("test", count // 3)):
        os.makedirs(os.path.join(root, split), exist_ok=True)
        for i in range(n):
            cx, cy, rad = 16 + (7 * i) % 32, 16 + (11 * i) % 32, 8 + i % 12
            pixels = []
            for y in range(side):
                for x in range(side):
                    inside = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad
                    base = (4 * x + i) % 256
                    pixels.append((255 if inside else base, (4 * y) % 256, (40 * i) % 256))
            write_png(os.path.join(root, split, f"{i:04d}.png"), pixels, side)
    return root


def run(runner, pipeline_text, name, work, device, role="device"):
    """Runs `pipeline_text` with train.device=`device` into a results folder of
    its own for `role`; returns that folder."""
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(pipeline_text)
    results = os.path.join(work, f"results-{name}-{role}")
    cmd = [
        runner, "--cache-dir", os.path.join(work, "cache"), "--results-dir", results,
        "run", path, "--no-progress", "-o", f"train.device={device}",
        "-j", str(min(6, os.cpu_count() or 1)),
    ]
    print("$", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{name} on {device}: runner exited {done.returncode}")
    return results


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_dirs(results):
    """{train key: run dir} of every finished training run under `results`."""
    out = {}
    for pipeline in os.listdir(results):
        runs = os.path.join(results, pipeline, "runs")
        if os.path.isdir(runs):
            for key in os.listdir(runs):
                if os.path.exists(os.path.join(runs, key, "train_log.csv")):
                    out[key] = os.path.join(runs, key)
    return out


def smoke(runner, work, device):
    folder = image_folder(os.path.join(work, "images"))
    cases = {
        "smoke_shape": f"dataset: {{name: shapes, train_images: 32, test_images: 16}}\n"
        f"model: {{arch: irmae_shape}}\nsweep:\n  model.upsampler: {UPSAMPLERS}\n",
        "smoke_mnist": f"dataset: {{name: folder, root: {folder}, size: 32, channels: 1}}\n"
        "model: {arch: irmae_mnist}\nsweep:\n  model.upsampler: [convt, n15]\n",
        "smoke_celeba": f"dataset: {{name: folder, root: {folder}, size: 64, channels: 3}}\n"
        "model: {arch: irmae_celeba}\nsweep:\n  model.upsampler: [convt, n15]\n",
        "smoke_dalal": f"dataset: {{name: folder, root: {folder}, size: 28, channels: 1}}\n"
        "model: {arch: dalal_mnist}\n",
    }
    loss_terms = terms(runner)
    loss_terms_dalal = terms(runner, skip=("watson_dft",))
    for name, head in cases.items():
        # Watson-DFT works on 8x8 blocks: not on Dalal's 28x28 images.
        terms = loss_terms_dalal if name == "smoke_dalal" else loss_terms
        text = (
            f"name: {name}\n{head}train: {{epochs: 1, batch: 16}}\n"
            f"loss:\n  terms: {terms}\neval: {{images: 16, samples: 8}}\n"
        )
        results = run(runner, text, name, work, device)
        for key, d in run_dirs(results).items():
            for row in rows(os.path.join(d, "train_log.csv")):
                bad = [k for k, v in row.items() if k != "lr" and not math.isfinite(float(v))]
                if bad:
                    sys.exit(f"{name} {key}: non-finite {bad} in train_log.csv")
        print(f"ok: {name} trained and evaluated on {device}", flush=True)


def agreement(runner, work, device, rtol, metric_rtol):
    with open(os.path.join(ROOT, "bench", "cuda_agreement.yaml")) as f:
        text = f.read()
    cpu = run_dirs(run(runner, text, "agreement", work, "cpu", role="reference"))
    gpu = run_dirs(run(runner, text, "agreement", work, device))
    assert cpu.keys() == gpu.keys() and cpu, "the same cells on both devices"
    worst_log, worst_metric, failed = 0.0, 0.0, False
    for key in sorted(cpu):
        a, b = (rows(os.path.join(d[key], "train_log.csv")) for d in (cpu, gpu))
        assert len(a) == len(b), key
        columns = [c for c in a[0] if c not in ("epoch", "step", "lr", "wall_s")]
        cell_worst = 0.0
        for ra, rb in zip(a, b):
            for c in columns:
                x, y = float(ra[c]), float(rb[c])
                rel = abs(x - y) / max(abs(x), abs(y), 1e-12)
                cell_worst = max(cell_worst, rel)
        evals = os.path.join(cpu[key], "eval")
        metric_worst = 0.0
        for e in os.listdir(evals):
            if not os.path.isdir(os.path.join(evals, e)):
                continue  # the eval node's lock file
            sa = rows(os.path.join(evals, e, "summary.csv"))
            sb = rows(os.path.join(gpu[key], "eval", e, "summary.csv"))
            for ra, rb in zip(sa, sb):
                x, y = float(ra["mean"]), float(rb["mean"])
                rel = abs(x - y) / max(abs(x), abs(y), 1e-12)
                metric_worst = max(metric_worst, rel)
        ok = cell_worst <= rtol and metric_worst <= metric_rtol
        failed |= not ok
        print(
            f"{key}: loss curve max rel diff {cell_worst:.2e}, final metrics {metric_worst:.2e}"
            f" {'ok' if ok else 'OVER TOLERANCE'}"
        )
        worst_log, worst_metric = max(worst_log, cell_worst), max(worst_metric, metric_worst)
    print(
        f"agreement over {len(cpu)} cells: loss curves {worst_log:.2e} (tolerance {rtol:g}), "
        f"metrics {worst_metric:.2e} (tolerance {metric_rtol:g})"
    )
    if failed:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check", choices=["smoke", "agreement", "all"])
    ap.add_argument("--runner", default=os.path.join(ROOT, ".gpu", "runner"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rtol", type=float, default=1e-2)
    ap.add_argument("--metric-rtol", type=float, default=2e-2)
    ap.add_argument("--work", help="keep the results here (default: a temporary folder)")
    args = ap.parse_args()
    # bench/build_for_gpu.sh leaves the binaries xz-compressed.
    subprocess.run([os.path.join(ROOT, "bench", "unpack_gpu.sh")], check=True)
    work = args.work or tempfile.mkdtemp(prefix="cuda-check-")
    os.makedirs(work, exist_ok=True)
    if args.check in ("smoke", "all"):
        smoke(args.runner, work, args.device)
    if args.check in ("agreement", "all"):
        agreement(args.runner, work, args.device, args.rtol, args.metric_rtol)


if __name__ == "__main__":
    main()
