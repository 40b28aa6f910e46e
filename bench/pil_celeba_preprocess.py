"""PIL side of `cargo bench --bench celeba_preprocess`.

The CelebA transform of IRMAE / Björk (docs/methods.md#celeba) done the torchvision
way: Image.open, .convert('RGB'), .crop((15, 35, 163, 183)),
.resize((64, 64), Image.BILINEAR), then ToTensor's float32 division by 255.

Subcommands:
  reencode SRC DST     re-save every .jpg of SRC into DST with PIL (quality 90,
                       PIL's default 4:2:0 chroma subsampling, like most JPEGs)
  time DIR             time the transform over DIR's .jpg files (sorted by name)
                       and print `images_per_s=<float>`; optionally dump the first
                       K results (float32 C x H x W, little-endian) and the first K
                       decoded images (uint8 H x W x 3) for the bench to compare.
"""

import argparse
import multiprocessing
import os
import sys
import time

import numpy as np
from PIL import Image

BOX = (15, 35, 163, 183)


def decode(path):
    with Image.open(path) as im:
        return im.convert("RGB")


def prep(path, size=64):
    """One image through the transform: a float32 C x H x W array in [0, 1]."""
    im = decode(path).crop(BOX).resize((size, size), Image.BILINEAR)
    a = np.asarray(im).astype(np.float32) / np.float32(255)
    return a.transpose(2, 0, 1)


def jpegs(folder):
    return sorted(
        os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".jpg")
    )


def run_all(files, processes):
    if processes <= 1:
        return [prep(f) for f in files]
    with multiprocessing.Pool(processes) as pool:
        return pool.map(prep, files, chunksize=64)


def cmd_time(args):
    files = jpegs(args.dir)
    if args.n:
        files = files[: args.n]
    run_all(files, args.processes)  # warm the page cache (and the pool start-up path)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = run_all(files, args.processes)
        times.append(time.perf_counter() - start)
        assert len(out) == len(files)
    secs = sorted(times)[len(times) // 2]
    print(f"images_per_s={len(files) / secs:.1f}")
    if args.dump:
        k = min(args.dump, len(files))
        np.stack([prep(f) for f in files[:k]]).astype("<f4").tofile(args.dump_path)
        np.stack([np.asarray(decode(f)) for f in files[:k]]).astype(np.uint8).tofile(
            args.dump_decoded
        )


def cmd_reencode(args):
    os.makedirs(args.dst, exist_ok=True)
    for f in jpegs(args.src):
        decode(f).save(os.path.join(args.dst, os.path.basename(f)), quality=90)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("dir")
    t.add_argument("--n", type=int, default=0, help="first N files (0: all)")
    t.add_argument("--processes", type=int, default=1)
    t.add_argument("--repeat", type=int, default=3)
    t.add_argument("--dump", type=int, default=0, help="dump the first K results")
    t.add_argument("--dump-path")
    t.add_argument("--dump-decoded")
    r = sub.add_parser("reencode")
    r.add_argument("src")
    r.add_argument("dst")
    args = p.parse_args()
    {"time": cmd_time, "reencode": cmd_reencode}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
