#!/usr/bin/env python3
"""PyTorch reference for the CPU training-throughput benchmark (issue 3).

The IRMAE MNIST VAE of docs/methods.md#irmae-mnist (n = 128) trained with the loss of
§3.1 (BCE on logits, mean over every element, + 0.1 x KL in IRMAE's convention:
-mean over batch x latent of (1 + logvar - mu^2 - exp(logvar)), no 1/2) and
Adam lr 1e-4, on random inputs in [0, 1]. It is the counterpart of runner's
`cargo bench --bench train_step`, which runs this script in the same invocation.

Output: one JSON line
  {"batch", "steps", "threads", "ms_per_step", "ms_per_step_mean", "images_per_s",
   "phases_ms": {"forward_loss", "backward", "optimizer"}}
and with --per-layer a second JSON line {"per_layer": [{"name", "forward_ms",
"backward_ms"}, ...]}: each layer (and the loss) timed on its own at the
batch's shapes; the optimizer's share is in "phases_ms" of the first line.
With --op-split a further line {"op_split": [{"name", "forward_ms", "grad_x_ms",
"grad_wb_ms"}, ...]}: each convolution's forward, input gradient and weight +
bias gradients timed apart, without autograd.

Install (PyPI only; the Linux torch wheel pulls the NVIDIA CUDA wheels, which
are never loaded on a CPU-only machine but are needed for `import torch`):
  python3 -m venv .bench-venv && .bench-venv/bin/pip install torch
Then: RUNNER_BENCH_PYTHON=.bench-venv/bin/python cargo bench --bench train_step
"""

import argparse
import json
import statistics
import sys
import time
import warnings

# torch warns at import when numpy is absent; nothing here uses numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as exc:  # the Rust bench reads this exit code and prints a note
    print(f"torch is not importable: {exc}", file=sys.stderr)
    sys.exit(3)

LATENT = 128
BETA = 0.1
LR = 1e-4


def down_conv(cin, cout):
    """Conv(k4, s2, p1), the IRMAE encoder's down-sampling step."""
    return nn.Conv2d(cin, cout, 4, stride=2, padding=1)


def up_convt(cin, cout):
    """ConvT(k4, s2, p1), the IRMAE decoder's up-sampling step."""
    return nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)


class Encoder(nn.Module):
    """4x Conv(k4,s2,p1)+ReLU, 1->32->64->128->256, flatten 1024 -> Linear(2n)."""

    def __init__(self, n):
        super().__init__()
        self.convs = nn.ModuleList(
            [down_conv(1, 32), down_conv(32, 64), down_conv(64, 128), down_conv(128, 256)]
        )
        self.head = nn.Linear(1024, 2 * n)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.head(x.flatten(1))


class Decoder(nn.Module):
    """Linear(n->8192) reshape 128x8x8 + ReLU, 2x ConvT(k4,s2,p1)+ReLU, ConvT(32->1,k1).

    Returns logits: the Sigmoid of the published net is folded into the loss,
    as in runner.
    """

    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, 128 * 8 * 8)
        self.up1 = up_convt(128, 64)
        self.up2 = up_convt(64, 32)
        self.out = nn.ConvTranspose2d(32, 1, 1)

    def forward(self, z):
        h = F.relu(self.fc(z).view(-1, 128, 8, 8))
        h = F.relu(self.up1(h))
        h = F.relu(self.up2(h))
        return self.out(h)


class Vae(nn.Module):
    """Encoder -> (mu, logvar) -> z = mu + exp(logvar/2) * eps -> decoder logits."""

    def __init__(self, n=LATENT):
        super().__init__()
        self.n = n
        self.encoder = Encoder(n)
        self.decoder = Decoder(n)

    def forward(self, x, eps):
        h = self.encoder(x)
        mu, logvar = h[:, : self.n], h[:, self.n :]
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decoder(z), mu, logvar


def vae_loss(logits, x, mu, logvar):
    """BCE (mean over all elements) + beta * IRMAE-mean KL (docs/methods.md#irmae-defaults)."""
    bce = F.binary_cross_entropy_with_logits(logits, x)
    kl = -(1 + logvar - mu.pow(2) - logvar.exp()).mean()
    return bce + BETA * kl


def time_training(net, batch, steps, warmup):
    """Median/mean step time and the per-phase medians, in ms, of `net`
    ("mnist": the IRMAE MNIST net on 1x32x32, "celeba": the IRMAE CelebA net
    of torch_device_step.py on 3x64x64)."""
    if net == "celeba":
        from torch_device_step import CelebaVae  # imported here: it imports this file

        model, shape = CelebaVae(), (3, 64, 64)
    else:
        model, shape = Vae(), (1, 32, 32)
        # Encoder 951,520 + decoder 1,220,737 (docs/methods.md#irmae-mnist); runner checks the same.
        assert sum(p.numel() for p in model.parameters()) == 2_172_257
    optim = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.rand(batch, *shape)
    totals, fwd, bwd, opt = [], [], [], []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        eps = torch.randn(batch, LATENT)
        logits, mu, logvar = model(x, eps)
        loss = vae_loss(logits, x, mu, logvar)
        # Reading the loss back is part of every real training step (logging,
        # divergence check); runner's step does the same.
        loss.item()
        t1 = time.perf_counter()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        optim.step()
        t3 = time.perf_counter()
        if i >= warmup:
            totals.append(t3 - t0)
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
            opt.append(t3 - t2)
    ms = lambda v: 1e3 * statistics.median(v)  # noqa: E731
    median = ms(totals)
    return {
        "batch": batch,
        "steps": steps,
        "threads": torch.get_num_threads(),
        "ms_per_step": median,
        "ms_per_step_mean": 1e3 * statistics.fmean(totals),
        "images_per_s": batch / (median / 1e3),
        "phases_ms": {"forward_loss": ms(fwd), "backward": ms(bwd), "optimizer": ms(opt)},
    }


class Relu(nn.Module):
    """`layer` followed by ReLU, as one row of the network table."""

    def __init__(self, layer, reshape=None):
        super().__init__()
        self.layer = layer
        self.reshape = reshape

    def forward(self, x):
        h = self.layer(x)
        if self.reshape is not None:
            h = h.view(-1, *self.reshape)
        return F.relu(h)


def layer_cases(batch):
    """(name, module, input shape, input needs grad) for every layer of the net.

    The first conv's input is the data, which needs no gradient, as in training.
    """
    b = batch
    return [
        ("enc conv1 1->32 +relu", Relu(down_conv(1, 32)), (b, 1, 32, 32), False),
        ("enc conv2 32->64 +relu", Relu(down_conv(32, 64)), (b, 32, 16, 16), True),
        ("enc conv3 64->128 +relu", Relu(down_conv(64, 128)), (b, 64, 8, 8), True),
        ("enc conv4 128->256 +relu", Relu(down_conv(128, 256)), (b, 128, 4, 4), True),
        ("enc linear 1024->256", nn.Linear(1024, 2 * LATENT), (b, 1024), True),
        ("dec linear 128->8192 +relu", Relu(nn.Linear(LATENT, 8192), (128, 8, 8)), (b, LATENT), True),
        ("dec convT 128->64 +relu", Relu(up_convt(128, 64)), (b, 128, 8, 8), True),
        ("dec convT 64->32 +relu", Relu(up_convt(64, 32)), (b, 64, 16, 16), True),
        ("dec convT 32->1 k1", nn.ConvTranspose2d(32, 1, 1), (b, 32, 32, 32), True),
    ]


def per_layer(batch, reps, warmup):
    """Median forward and backward time of each layer on its own, in ms.

    Backward is that of (out * g).sum() for a fixed random g, so the incoming
    gradient is dense like a real one; runner's side does exactly the same.
    """
    rows = []
    for name, module, shape, needs_grad in layer_cases(batch):
        fwd, bwd = [], []
        x = torch.rand(*shape, requires_grad=needs_grad)
        with torch.no_grad():
            g = torch.randn_like(module(x))
        for i in range(warmup + reps):
            module.zero_grad(set_to_none=True)
            x.grad = None
            t0 = time.perf_counter()
            out = module(x)
            t1 = time.perf_counter()
            loss = (out * g).sum()
            t2 = time.perf_counter()
            loss.backward()
            t3 = time.perf_counter()
            if i >= warmup:
                fwd.append(t1 - t0)
                bwd.append(t3 - t2)
        rows.append(
            {"name": name, "forward_ms": 1e3 * statistics.median(fwd), "backward_ms": 1e3 * statistics.median(bwd)}
        )

    # The loss alone, forward and backward into (mu, logvar, logits).
    mu = torch.randn(batch, LATENT, requires_grad=True)
    logvar = torch.randn(batch, LATENT, requires_grad=True)
    logits = torch.randn(batch, 1, 32, 32, requires_grad=True)
    x = torch.rand(batch, 1, 32, 32)
    fwd, bwd = [], []
    for i in range(warmup + reps):
        for t in (mu, logvar, logits):
            t.grad = None
        t0 = time.perf_counter()
        loss = vae_loss(logits, x, mu, logvar)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        if i >= warmup:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    rows.append(
        {"name": "loss (BCE + KL)", "forward_ms": 1e3 * statistics.median(fwd), "backward_ms": 1e3 * statistics.median(bwd)}
    )

    return rows


# (name, transposed, in channels, out channels, kernel, stride, padding, input side)
# for every convolution of the net; the same list is in benches/train_step.rs.
CONV_CASES = [
    ("enc conv1 1->32", False, 1, 32, 4, 2, 1, 32),
    ("enc conv2 32->64", False, 32, 64, 4, 2, 1, 16),
    ("enc conv3 64->128", False, 64, 128, 4, 2, 1, 8),
    ("enc conv4 128->256", False, 128, 256, 4, 2, 1, 4),
    ("dec convT 128->64", True, 128, 64, 4, 2, 1, 8),
    ("dec convT 64->32", True, 64, 32, 4, 2, 1, 16),
    ("dec convT 32->1 k1", True, 32, 1, 1, 1, 0, 32),
]


def op_split(batch, reps, warmup):
    """Median time (ms) of each convolution's forward, of its input gradient and
    of its weight + bias gradients, computed apart without autograd through
    aten.convolution_backward's output mask."""
    rows = []
    conv_bwd = torch.ops.aten.convolution_backward
    for name, transposed, cin, cout, k, stride, pad, side in CONV_CASES:
        x = torch.rand(batch, cin, side, side)
        w_shape = (cin, cout, k, k) if transposed else (cout, cin, k, k)
        w = torch.randn(*w_shape) * 0.05
        b = torch.randn(cout) * 0.05
        conv = F.conv_transpose2d if transposed else F.conv2d

        def fwd():
            return conv(x, w, b, stride=stride, padding=pad)

        with torch.no_grad():
            g = torch.randn_like(fwd())

        def grad(mask):
            return lambda: conv_bwd(
                g, x, w, [cout], [stride] * 2, [pad] * 2, [1, 1], transposed, [0, 0], 1, mask
            )

        times = {}
        with torch.no_grad():
            for key, f in [
                ("forward_ms", fwd),
                ("grad_x_ms", grad([True, False, False])),
                # oneDNN computes the weight and bias gradients in one call (asking
                # for the bias alone costs the same), so they are timed together.
                ("grad_wb_ms", grad([False, True, True])),
            ]:
                v = []
                for i in range(warmup + reps):
                    t0 = time.perf_counter()
                    f()
                    t1 = time.perf_counter()
                    if i >= warmup:
                        v.append(t1 - t0)
                times[key] = 1e3 * statistics.median(v)
        rows.append({"name": name, **times})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=["mnist", "celeba"], default="mnist")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30, help="timed steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--per-layer", action="store_true", help="also time each layer alone")
    ap.add_argument(
        "--op-split", action="store_true", help="also time each conv's forward, grad x, grad w+b"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(json.dumps(time_training(args.net, args.batch, args.steps, args.warmup)), flush=True)
    if args.per_layer:
        rows = per_layer(args.batch, args.steps, args.warmup)
        print(json.dumps({"per_layer": rows}), flush=True)
    if args.op_split:
        print(json.dumps({"op_split": op_split(args.batch, args.steps, args.warmup)}), flush=True)


if __name__ == "__main__":
    main()
