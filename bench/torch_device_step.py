#!/usr/bin/env python3
"""PyTorch side of `cargo bench --bench device_step` (issue 6).

The same training step as runner's, in PyTorch eager: the IRMAE MNIST net
(docs/methods.md#irmae-mnist, 1x32x32) or the IRMAE CelebA net
(docs/methods.md#irmae-celeba, 3x64x64), n = 128, PyTorch's default init; the loss on
logits with pixel targets:
  bce      BCE with logits, mean over every element
  bce+fft  0.5 BCE + 0.5 Björk's FFT loss (docs/methods.md#fft-loss: unnormalised 2-D DFT,
           (1/n) sum |F(sigmoid(logits)) - F(x)|^2 per image and channel, mean
           over batch and channels)
  bce+ai   0.5 BCE + 0.5 the differentiable AI loss (docs/methods.md#ai-loss, runner's
           defaults: grey, 20 ln(|F| + 1e-8), Durall's radial bins, min-max
           profiles, BCE with the reconstruction's profile clipped to
           [1e-7, 1 - 1e-7] as the prediction)
each + 0.1 x KL in IRMAE's convention; Adam lr 1e-4, betas (0.9, 0.999),
eps 1e-8. Each step copies the batch from the host, draws the noise, runs
forward and loss, reads the loss back (`.item()`, as runner reads its loss
values every step), then backward and the Adam step.

Output: one JSON line per case: {"case", "device", "ms_per_step", "images_per_s"}.
Usage: torch_device_step.py --device cuda --steps 50 --warmup 10 \
           --cases mnist/32/bce,celeba/128/bce+ai
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as exc:
    print(f"torch is not importable: {exc}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_irmae_mnist import Vae as MnistVae  # noqa: E402  (the §1.2 net, n = 128)

LATENT = 128
BETA = 0.1
LR = 1e-4
GRAY = (0.2989, 0.5870, 0.1140)


class CelebaVae(nn.Module):
    """IRMAE CelebA VAE (§1.3): 4x Conv(k4,s2,p1)+ReLU 3->128->256->512->1024,
    Linear(16384->2n); Linear(n->65536) to 1024x8x8 (no activation), 3x
    ConvT(k4,s2,p1)+ReLU 1024->512->256->128, ConvT(128->3, k1). Returns logits."""

    def __init__(self, n=LATENT):
        super().__init__()
        self.n = n
        chans = [3, 128, 256, 512, 1024]
        self.convs = nn.ModuleList(
            [nn.Conv2d(a, b, 4, stride=2, padding=1) for a, b in zip(chans, chans[1:])]
        )
        self.head = nn.Linear(16384, 2 * n)
        self.fc = nn.Linear(n, 65536)
        ups = [1024, 512, 256, 128]
        self.ups = nn.ModuleList(
            [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1) for a, b in zip(ups, ups[1:])]
        )
        self.out = nn.ConvTranspose2d(128, 3, 1)

    def forward(self, x, eps):
        h = x
        for conv in self.convs:
            h = F.relu(conv(h))
        h = self.head(h.flatten(1))
        mu, logvar = h[:, : self.n], h[:, self.n :]
        z = mu + torch.exp(0.5 * logvar) * eps
        h = self.fc(z).view(-1, 1024, 8, 8)
        for up in self.ups:
            h = F.relu(up(h))
        return self.out(h), mu, logvar


def kl_irmae(mu, logvar):
    return -(1 + logvar - mu.pow(2) - logvar.exp()).mean()


def fft_loss(recon, x):
    """Björk's FFT loss: (1/n) sum over frequencies of |dF|^2, mean over b x c."""
    d = torch.fft.fft2(recon - x)
    n = x.shape[-1] * x.shape[-2]
    return (d.real.pow(2) + d.imag.pow(2)).sum(dim=(-1, -2)).mean() / n


def radial_matrix(h, w, device):
    """Durall's bins on the fftshifted spectrum: floor of the distance to
    ((w-1)/2, (h-1)/2), bins 1 .. max-1; a (h*w) x bins averaging matrix."""
    ys = torch.arange(h, dtype=torch.float64).view(-1, 1) - (h - 1) / 2
    xs = torch.arange(w, dtype=torch.float64).view(1, -1) - (w - 1) / 2
    r = torch.sqrt(ys**2 + xs**2).floor().long().flatten()
    last = int(r.max())
    cols = []
    for b in range(1, last):
        member = (r == b).double()
        cols.append(member / member.sum())
    return torch.stack(cols, dim=1).float().to(device)


class AiLoss:
    """The differentiable AI loss, runner's default options."""

    def __init__(self, c, h, w, device):
        self.gray = torch.tensor(GRAY, device=device).view(1, 3, 1, 1) if c == 3 else None
        self.radial = radial_matrix(h, w, device)

    def profiles(self, x):
        g = (x * self.gray).sum(dim=1, keepdim=True) if self.gray is not None else x
        f = torch.fft.fftshift(torch.fft.fft2(g), dim=(-2, -1))
        mag = torch.sqrt(f.real.pow(2) + f.imag.pow(2) + 1e-20)
        s = 20 * torch.log(mag + 1e-8)
        p = s.flatten(1) @ self.radial
        low = p.min(dim=1, keepdim=True).values
        high = p.max(dim=1, keepdim=True).values
        rng = (high - low).clamp_min(1e-8)
        return (p - low) / rng

    def __call__(self, recon, x):
        q = self.profiles(recon).clamp(1e-7, 1 - 1e-7)
        t = self.profiles(x)
        return F.binary_cross_entropy(q, t)


def make_case(name, device):
    net, batch, loss = name.split("/")
    batch = int(batch)
    c, side = (1, 32) if net == "mnist" else (3, 64)
    torch.manual_seed(0)
    model = (MnistVae() if net == "mnist" else CelebaVae()).to(device)
    # Parameter counts of docs/methods.md#networks (encoder + decoder), n = 128.
    expected = 951_520 + 1_220_737 if net == "mnist" else 15_212_672 + 19_465_475
    assert sum(p.numel() for p in model.parameters()) == expected, name
    optim = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    ai = AiLoss(c, side, side, device) if loss == "bce+ai" else None

    def objective(logits, x, mu, logvar):
        bce = F.binary_cross_entropy_with_logits(logits, x)
        if loss == "bce":
            rec = bce
        elif loss == "bce+fft":
            rec = 0.5 * bce + 0.5 * fft_loss(torch.sigmoid(logits), x)
        else:
            rec = 0.5 * bce + 0.5 * ai(torch.sigmoid(logits), x)
        return rec + BETA * kl_irmae(mu, logvar)

    return model, optim, objective, (batch, c, side, side)


def time_case(name, device, steps, warmup):
    model, optim, objective, shape = make_case(name, device)
    host = torch.rand(*shape)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        x = host.to(device)
        eps = torch.randn(shape[0], LATENT, device=device)
        logits, mu, logvar = model(x, eps)
        loss = objective(logits, x, mu, logvar)
        value = loss.item()  # one sync per step, as runner's step
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if not math.isfinite(value):
            raise SystemExit(f"{name}: loss {value}")
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    ms = 1e3 * statistics.median(times)
    return {"case": name, "device": str(device), "ms_per_step": ms, "images_per_s": shape[0] / (ms / 1e3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--cases", required=True, help="comma-separated net/batch/loss")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch sees no CUDA device")
    for name in args.cases.split(","):
        print(json.dumps(time_case(name, device, args.steps, args.warmup)), flush=True)


if __name__ == "__main__":
    main()
