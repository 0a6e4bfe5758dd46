"""PyTorch CPU reference for synthad's training throughput: the same network (ReLU 500-500,
one output), weighted hinge loss, AdamW (lr 1e-3, wd 1e-2) and batch 1024, in two loop styles:
plain in-memory slicing and a DataLoader over a TensorDataset (as the paper's code does).
The rows are the nsl-kdd scenario's, exported by synthad (`throughput export PATH.npz`: x, y,
w, test_x), or with `--data random` uniform random rows of the same shape (27,800 x 113, half
labeled anomalous), as synthad's `throughput ... random`.
With --bf16 the forward passes run under torch.autocast(bfloat16) (oneDNN's bf16 kernels),
the counterpart of synthad's `--precision bf16`.

    python bench/pytorch_reference.py --data PATH.npz|random --threads 1 --epochs 5 [--bf16]
"""
import argparse
import contextlib
import time

import numpy as np
import torch


def network(d):
    return torch.nn.Sequential(
        torch.nn.Linear(d, 500), torch.nn.ReLU(),
        torch.nn.Linear(500, 500), torch.nn.ReLU(),
        torch.nn.Linear(500, 1),
    )


def precision(bf16):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def train(x, y, w, epochs, loader, bf16):
    torch.manual_seed(0)
    model = network(x.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    n = x.shape[0]
    samples = 0
    start = time.perf_counter()
    for _ in range(epochs):
        if loader:
            batches = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(x, y, w), batch_size=1024, shuffle=True)
        else:
            perm = torch.randperm(n)
            batches = ((x[i], y[i], w[i]) for i in (perm[s:s + 1024] for s in range(0, n, 1024)))
        for xb, yb, wb in batches:
            with precision(bf16):
                out = model(xb).squeeze(1)
            loss = (torch.relu(1 - yb * out.float()) * wb).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            samples += xb.shape[0]
    return samples / (time.perf_counter() - start)


def load(data):
    if data == "random":
        rng = np.random.default_rng(0)
        x = torch.from_numpy(rng.random((27_800, 113), dtype=np.float32))
        y = torch.from_numpy(np.where(np.arange(27_800) < 13_900, -1.0, 1.0).astype(np.float32))
        return x, y, torch.ones(27_800), x
    arrays = np.load(data)
    return tuple(torch.from_numpy(arrays[name]) for name in ("x", "y", "w", "test_x"))


def score(x, bf16, reps=3):
    torch.manual_seed(0)
    model = network(x.shape[1])
    best = 0.0
    with torch.no_grad(), precision(bf16):
        for _ in range(reps):
            start = time.perf_counter()
            for s in range(0, x.shape[0], 4096):
                model(x[s:s + 4096])
            best = max(best, x.shape[0] / (time.perf_counter() - start))
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--data", required=True, help="an npz from `throughput export`, or random")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    x, y, w, test_x = load(a.data)
    print(f"torch {torch.__version__} {'bf16 autocast' if a.bf16 else 'f32'} threads {a.threads}: "
          f"in-memory {train(x, y, w, a.epochs, False, a.bf16):.0f} samples/s, "
          f"DataLoader {train(x, y, w, a.epochs, True, a.bf16):.0f} samples/s, "
          f"no_grad scoring {score(test_x, a.bf16):.0f} rows/s")


if __name__ == "__main__":
    main()
