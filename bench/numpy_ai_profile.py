#!/usr/bin/env python3
"""NumPy reference for the metrics benchmark (issue 5): Durall's AI profile.

The counterpart of runner's `cargo bench --bench metrics`, which writes the real and
reconstructed test images as raw little-endian f32 (N x C x H x W) and runs this
script in the same invocation. It computes, vectorised over the whole batch, the
same azimuthal-integration profile runner uses (docs/methods.md#azimuthal-profile): grey
conversion (0.2989 R + 0.5870 G + 0.1140 B), unnormalised fft2, fftshift, + 1e-8,
20 ln|F|, rings floor(r) around ((W-1)/2, (H-1)/2), ring means with the innermost
and outermost rings dropped; then the per-image AI RMSE and the per-bin mean and
std of the profiles (the spectrum file).

Usage: numpy_ai_profile.py REAL.f32 RECON.f32 N C H W
Output: one JSON line {"seconds", "rmse_ai_mean", "rmse_ai_std", "real_profile_mean"}
(seconds: the computation only, after the files are read).

Install: python3 -m venv .bench-venv && .bench-venv/bin/pip install numpy
"""

import json
import sys
import time

import numpy as np


def ring_index(h, w):
    """Kept-ring index of every pixel of the shifted spectrum (-1: dropped)."""
    y, x = np.indices((h, w), dtype=np.float64)
    ring = np.sqrt((x - (w - 1) / 2.0) ** 2 + (y - (h - 1) / 2.0) ** 2).astype(np.int64)
    present = np.unique(ring)
    kept = present[1:-1]
    index = np.full(ring.shape, -1, dtype=np.int64)
    for i, r in enumerate(kept):
        index[ring == r] = i
    return index.ravel(), len(kept)


def profiles(images, index, bins):
    """AI profiles of images (N, C, H, W) -> (N, bins)."""
    n, c, h, w = images.shape
    if c == 3:
        grey = 0.2989 * images[:, 0] + 0.5870 * images[:, 1] + 0.1140 * images[:, 2]
    else:
        grey = images[:, 0]
    spectrum = np.fft.fftshift(np.fft.fft2(grey.astype(np.float64)), axes=(-2, -1))
    log_magnitude = 20.0 * np.log(np.abs(spectrum + 1e-8)).reshape(n, h * w)
    keep = index >= 0
    flat = (np.arange(n)[:, None] * bins + index[None, keep]).ravel()
    sums = np.bincount(flat, weights=log_magnitude[:, keep].ravel(), minlength=n * bins)
    counts = np.bincount(index[keep], minlength=bins)
    return sums.reshape(n, bins) / counts[None, :]


def main():
    real_path, recon_path, n, c, h, w = sys.argv[1:7]
    n, c, h, w = int(n), int(c), int(h), int(w)
    real = np.fromfile(real_path, dtype="<f4").reshape(n, c, h, w)
    recon = np.fromfile(recon_path, dtype="<f4").reshape(n, c, h, w)
    start = time.perf_counter()
    index, bins = ring_index(h, w)
    p_real = profiles(real, index, bins)
    p_recon = profiles(recon, index, bins)
    rmse = np.sqrt(np.mean((p_real - p_recon) ** 2, axis=1))
    stats = [p.mean(axis=0) for p in (p_real, p_recon)] + [p.std(axis=0) for p in (p_real, p_recon)]
    seconds = time.perf_counter() - start
    print(json.dumps({
        "seconds": seconds,
        "rmse_ai_mean": float(rmse.mean()),
        "rmse_ai_std": float(rmse.std()),
        "real_profile_mean": [float(v) for v in stats[0]],
    }))


if __name__ == "__main__":
    main()
