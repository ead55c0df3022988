"""Training throughput: a naive single-replica PyTorch loop, PyTorch's vmap ensembling recipe and impkit's batched step.

    python bench/bench_train.py [--device auto|cpu|cuda] [--threads N] [--quick] [--bandwidth GB/s]

Prints, for the current device, steps/s of

* ``naive``: the loop people usually write: ``nn.Linear`` layers, masks by multiplication in the forward
  pass, ``optimizer.step()``, masks re-applied, a fresh ``torch.randint`` minibatch and ``loss.item()``
  every step;
* ``vmap R``: PyTorch's own model-ensembling recipe (``torch.func.stack_module_state`` +
  ``functional_call`` + ``torch.vmap(grad_and_value(...))``) training R plain ``nn.Linear`` networks at once
  with plain SGD, masks re-applied after every update (written here, :func:`vmap_steps_per_s`);
* ``batched R``: :class:`impkit.train.Stepper` (or its CUDA graph on GPU) training R replicas at once,

for the ``default`` model (R = 1, 3, 9) and the ``paper`` model 3072:1024:1024:1000 (R = 1, 6, 18) at batch 40;
per-replica throughput relative to the naive loop and the ratio impkit / vmap per replica-step (all measured in
the same run), and the projected wall time of the full ``paper`` reproduction
(3 seeds x {IMP, one-shot, random} x {data, clone}; round 0 shared by the methods: 40k steps x 6
replicas, then 10 rounds x 39k steps x 18 replicas), from the best measured per-replica batched
throughput (evaluation and I/O not included). On CUDA it also prints the gap to the weight-traffic floor of
impkit's step (:func:`weight_traffic_bytes` at the device's stated memory bandwidth, :data:`BANDWIDTH`).
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch import nn

from impkit.data import load as load_data
from impkit.model import FCN
from impkit.device import resolve_device
from impkit.presets import PRESETS, make_config
from impkit.train import ReplicaData, make_stepper

PAPER_DIMS = [3072, 1024, 1024, 1000]
# Peak memory bandwidth in bytes/s as stated by the vendor's data sheets, matched against the device name
# (first match wins; longer names first). Used only for the traffic floor; --bandwidth overrides it.
BANDWIDTH = (("H200", 4.8e12), ("H100 NVL", 3.9e12), ("H100 PCIe", 2.0e12), ("H100", 3.35e12),
             ("A100-SXM4-80GB", 2.039e12), ("A100", 1.555e12))
ISSUE_FLOOR_US = 35.0  # the issue's figure for an H100, quoted next to the computed one


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def _data(D, K, N, dev, R):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (N, D), dtype=torch.uint8, generator=g).to(dev)
    y = torch.randint(0, K, (N,), generator=g).to(dev)
    return x, y


def naive_steps_per_s(dims, batch, steps, dev, warmup=3):
    x, y = _data(dims[0], dims[-1], 4096, dev, 1)
    layers = nn.ModuleList([nn.Linear(i, o) for i, o in zip(dims[:-1], dims[1:])]).to(dev)
    masks = [(torch.rand_like(l.weight) > 0.3).float() for l in layers]
    opt = torch.optim.SGD(layers.parameters(), lr=0.01)

    def step():
        idx = torch.randint(0, x.shape[0], (batch,), device=dev)
        h = x[idx].float() / 255.0
        for i, (l, m) in enumerate(zip(layers, masks)):
            h = F.linear(h, l.weight * m, l.bias)
            if i < len(layers) - 1:
                h = F.relu(h)
        loss = F.cross_entropy(h, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for l, m in zip(layers, masks):
                l.weight.mul_(m)
        return loss.item()

    for _ in range(warmup):
        step()
    _sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(dev)
    return steps / (time.perf_counter() - t)


def batched_steps_per_s(dims, batch, R, steps, dev, warmup=3):
    N = 4096
    x, y = _data(dims[0], dims[-1], N, dev, R)
    model = FCN(dims, R, seeds=list(range(R))).to(dev)
    model.set_masks([torch.rand(R, o, i) > 0.3 for i, o in zip(dims[:-1], dims[1:])])
    data = ReplicaData(x=x, y=y, offsets=torch.zeros(R, dtype=torch.long, device=dev), sizes=[N] * R, shift=None,
                       scale=torch.full((R, 1, 1), 255.0, device=dev), test_x=x, test_y=y,
                       test_offsets=torch.zeros(R, dtype=torch.long, device=dev), n_test=N, num_classes=dims[-1])
    stepper = make_stepper(model, data, 0.01, batch)
    idx = torch.randint(0, N, (steps + warmup, R, batch), device=dev)
    buf = torch.zeros(steps + warmup, R, device=dev)
    for i in range(warmup):
        buf[i] = stepper(idx[i])
    _sync(dev)
    t = time.perf_counter()
    for i in range(warmup, warmup + steps):
        buf[i] = stepper(idx[i])
    buf.sum().item()
    _sync(dev)
    return steps / (time.perf_counter() - t)


class _PlainFCN(nn.Module):
    """One ordinary network of ``nn.Linear`` layers with ReLU between them: x (B, D) -> logits (B, K)."""

    def __init__(self, dims):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(i, o) for i, o in zip(dims[:-1], dims[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


def vmap_ensemble(dims, R: int, dev, lr: float = 0.01, keep: float = 0.7, seed: int = 0):
    """PyTorch's model-ensembling recipe with masks: R ``_PlainFCN`` stacked by ``torch.func.stack_module_state``,
    one SGD step = ``torch.vmap(grad_and_value(loss))`` over the replica axis, then ``p -= lr * g`` and the masks
    re-applied to the weights. Returns ``(step, params, masks)``: ``step(xb (R, B, D) float, yb (R, B) long) ->
    losses (R,)`` updates ``params`` (name -> (R, ...) tensors) in place."""
    from torch.func import functional_call, grad_and_value, stack_module_state

    torch.manual_seed(seed)
    nets = [_PlainFCN(dims).to(dev) for _ in range(R)]
    params, buffers = stack_module_state(nets)
    skeleton = copy.deepcopy(nets[0]).to("meta")  # the recipe's stateless template
    g = torch.Generator().manual_seed(seed)
    masks = {k: (torch.rand(p.shape, generator=g) < keep).float().to(dev) for k, p in params.items()
             if k.endswith("weight")}
    names = list(params)
    plist = [params[k] for k in names]
    wlist, mlist = [params[k] for k in masks], list(masks.values())
    with torch.no_grad():
        torch._foreach_mul_(wlist, mlist)

    def loss_one(p, b, xb, yb):
        return F.cross_entropy(functional_call(skeleton, (p, b), (xb,)), yb)

    grad_all = torch.vmap(grad_and_value(loss_one), in_dims=(0, 0, 0, 0))

    def step(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        grads, losses = grad_all(params, buffers, xb, yb)
        with torch.no_grad():
            torch._foreach_add_(plist, [grads[k] for k in names], alpha=-lr)
            torch._foreach_mul_(wlist, mlist)
        return losses.detach()

    return step, params, masks


def vmap_steps_per_s(dims, batch, R, steps, dev, warmup=2):
    """Steps/s of :func:`vmap_ensemble` with R replicas: uint8 rows gathered and scaled by 1/255 each step, losses
    kept on the device (one host sync at the end), the same index stream shape as ``batched_steps_per_s``."""
    N = 4096
    x, y = _data(dims[0], dims[-1], N, dev, R)
    step, _, _ = vmap_ensemble(dims, R, dev)
    idx = torch.randint(0, N, (steps + warmup, R, batch), device=dev)
    buf = torch.zeros(steps + warmup, R, device=dev)
    for i in range(warmup):
        buf[i] = step(x[idx[i]].float() / 255.0, y[idx[i]])
    _sync(dev)
    t = time.perf_counter()
    for i in range(warmup, warmup + steps):
        buf[i] = step(x[idx[i]].float() / 255.0, y[idx[i]])
    buf.sum().item()
    _sync(dev)
    return steps / (time.perf_counter() - t)


def weight_traffic_bytes(dims, mask_bytes: int = 4, param_bytes: int = 4) -> int:
    """Bytes of weight, bias and mask traffic of one replica-step of impkit's fused step (``mask_forward=False``).

    Per weight of layer l: the forward pass reads W; the backward pass reads W for the input gradient (not in the
    first layer); the fused SGD update reads and writes W; re-applying the mask reads W and M and writes W. So 7
    accesses (6 in the first layer), one of them the mask. Per bias: read, then read and write in the update.
    Activations (B x width, B = 40) and minibatch rows are < 1 % of this at the paper's sizes and left out."""
    total = 0
    for layer, (i, o) in enumerate(zip(dims[:-1], dims[1:])):
        w_access = 1 + 2 + 2 + (0 if layer == 0 else 1)  # fwd read, update r/w, mask r(W)/w(W), bwd read
        total += i * o * (w_access * param_bytes + mask_bytes) + o * 3 * param_bytes
    return total


def bandwidth_of(name: str) -> float | None:
    """Stated peak memory bandwidth (bytes/s) of a device by name (:data:`BANDWIDTH`), None if unknown."""
    for key, bw in BANDWIDTH:
        if key.lower() in name.lower():
            return bw
    return None


def paper_replica_steps():
    p = PRESETS["paper"]
    T, tr, rounds = p["train"]["steps"], p["train"]["t_rewind"], p["prune"]["rounds"]
    seeds, data = len(p["seeds"]), 2
    round0 = seeds * data * T
    later = seeds * data * 3 * rounds * (T - tr)
    return round0, later


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads (default: all cores, or 1 when the machine is already loaded)")
    ap.add_argument("--quick", action="store_true", help="fewer iterations")
    ap.add_argument("--bandwidth", type=float, default=None, metavar="GB/s",
                    help="memory bandwidth for the traffic floor (default: the device's stated figure, BANDWIDTH)")
    a = ap.parse_args(argv)
    dev = resolve_device(a.device)
    import os

    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    threads = a.threads or (1 if load > cores - 0.5 else cores)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    gpu = dev.type == "cuda"
    cfg = make_config("default")  # the embedded default's task decides the input and output widths
    probe = load_data(cfg.data.name, split="test", **cfg.data.options)
    default_dims = [probe.dim, *cfg.model.hidden, probe.num_classes]
    scale = 0.5 if a.quick else 1.0
    # iterations per measurement, divided by R for the batched and vmap loops (CPU: keep the whole bench ~1 min)
    iters = {"default": (int((2000 if gpu else 300) * scale), [1, 3, 9]),
             "paper": (int((2000 if gpu else 12) * scale), [1, 6, 18])}
    name = torch.cuda.get_device_name(dev) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"impkit training bench on {name}, torch {torch.__version__}, batch 40, load average {load:.1f}")
    print(f"{'model':<8} {'loop':<11} {'steps/s':>9} {'ms/step':>8} {'replica-steps/s':>16} {'x naive/replica':>16}")
    results = {}
    for label, dims in (("default", default_dims), ("paper", PAPER_DIMS)):
        n, Rs = iters[label]
        naive = naive_steps_per_s(dims, 40, max(3, n), dev)
        results[label, "naive"] = naive
        print(f"{label:<8} {'naive':<11} {naive:>9.1f} {1000 / naive:>8.2f} {naive:>16.1f} {1.0:>16.2f}")
        kinds = (("batched", batched_steps_per_s), ("vmap", vmap_steps_per_s)) if label == "paper" else \
            (("batched", batched_steps_per_s),)
        for R in Rs:
            for kind, fn in kinds:
                sps = fn(dims, 40, R, max(2 if label == "paper" and not gpu else 4, n // R), dev)
                results[label, kind, R] = sps
                print(f"{label:<8} {f'{kind} R={R}':<11} {sps:>9.1f} {1000 / sps:>8.2f} {sps * R:>16.1f} "
                      f"{sps * R / naive:>16.2f}")
    # the comparison at the paper model: time per replica-step, measured in this run
    naive_us = 1e6 / results["paper", "naive"]
    print("\npaper model 3072:1024:1024:1000, batch 40: time per replica-step (lower is better)")
    print(f"{'R':>3} {'impkit us':>10} {'vmap us':>10} {'loop us':>10} {'impkit/vmap':>12} {'impkit/loop':>12}")
    for R in iters["paper"][1]:
        imp_us = 1e6 / (results["paper", "batched", R] * R)
        vm_us = 1e6 / (results["paper", "vmap", R] * R)
        print(f"{R:>3} {imp_us:>10.1f} {vm_us:>10.1f} {naive_us:>10.1f} {imp_us / vm_us:>12.2f} "
              f"{imp_us / naive_us:>12.2f}")
    r0, later = paper_replica_steps()
    # best measured per-replica throughput (the driver batches any R; --replicas caps it)
    Rmax = max(iters["paper"][1], key=lambda R: results["paper", "batched", R] * R)
    per_rep = results["paper", "batched", Rmax] * Rmax
    t_batched = (r0 + later) / per_rep
    t_naive = (r0 + later) / results["paper", "naive"]
    print(f"paper reproduction: {r0 + later:,} replica-steps (round 0: {r0:,} shared by the methods; "
          f"rounds 1-10: {later:,})")
    print(f"  projected: batched (R={Rmax} throughput) {t_batched / 3600:.2f} h, naive loop {t_naive / 3600:.2f} h "
          f"on this device (training steps only)")
    traffic = weight_traffic_bytes(PAPER_DIMS)
    bw = a.bandwidth * 1e9 if a.bandwidth else (bandwidth_of(name) if gpu else None)
    if gpu:
        us = 1e6 / per_rep
        if bw:
            floor = 1e6 * traffic / bw
            print(f"  per replica-step {us:.1f} us vs the weight-traffic floor {floor:.1f} us "
                  f"({traffic / 1e6:.1f} MB per replica-step at {bw / 1e12:.2f} TB/s): {us / floor:.2f}x; "
                  f"the issue's H100 figure: ~{ISSUE_FLOOR_US:.0f} us ({us / ISSUE_FLOOR_US:.2f}x)")
        else:
            print(f"  per replica-step {us:.1f} us; weight traffic {traffic / 1e6:.1f} MB per replica-step "
                  f"(no stated bandwidth for {name!r}: pass --bandwidth GB/s for the floor)")


if __name__ == "__main__":
    main()
