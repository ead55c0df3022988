"""Fully connected networks stacked over R replicas.

:class:`FCN` holds, per layer l, weights ``(R, out, in)``, biases ``(R, out)`` and a float mask buffer
``(R, out, in)`` (1 = kept). The forward pass takes ``(R, B, in)`` and uses ``torch.baddbmm``, so R
independent networks (different seeds, masks, pruning methods or datasets) train as one batch.
Replica r of a batch computes exactly what a lone network (R = 1) with the same parameters computes.

Masks are applied in the forward pass (``masked=True``, the default) and re-applied after every
optimizer step by the training loop, so pruned weights are exactly 0. Because of the latter, the
forward product ``W * M`` equals ``W`` bit for bit and the training loop may skip it
(``TrainConfig.mask_forward``).

Init ``uniform`` is PyTorch's ``nn.Linear`` default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
biases (the paper); ``glorot_normal`` draws N(0, 2/(fan_in+fan_out)) weights and zero biases (official
Pellegrini & Biroli code). ``input_bn`` adds a per-replica batch-norm (affine, momentum 0.1, eps 1e-5)
on the input of every layer, raw pixels included (P&B code).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from impkit import runformat as fmt

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def init_layer(fan_in: int, fan_out: int, init: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer's (W (out, in), b (out,)) drawn from ``gen`` (CPU generator)."""
    if init == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        w = torch.rand(fan_out, fan_in, generator=gen) * (2 * bound) - bound
        b = torch.rand(fan_out, generator=gen) * (2 * bound) - bound
    elif init == "glorot_normal":
        std = math.sqrt(2.0 / (fan_in + fan_out))
        w = torch.randn(fan_out, fan_in, generator=gen) * std
        b = torch.zeros(fan_out)
    else:
        raise ValueError(f"model.init: unknown init {init!r}")
    return w, b


class _BatchedLinear(torch.autograd.Function):
    """``out = b + h @ W^T`` on stacked replicas: h (R, B, in), W (R, out, in), b (R, out).

    A hand-written backward keeps the weight gradient contiguous in the (R, out, in) layout
    (``bmm(g^T, h)``; autograd through ``W.transpose`` would produce a transposed, strided gradient that
    makes the SGD update slow) and skips the input gradient of the first layer."""

    @staticmethod
    def forward(ctx, h, w, b):
        ctx.save_for_backward(h, w)
        return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))

    @staticmethod
    def backward(ctx, g):
        h, w = ctx.saved_tensors
        gh = torch.bmm(g, w) if ctx.needs_input_grad[0] else None
        gw = torch.bmm(g.transpose(1, 2), h) if ctx.needs_input_grad[1] else None
        gb = g.sum(1) if ctx.needs_input_grad[2] else None
        return gh, gw, gb


def batched_linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _BatchedLinear.apply(h, w, b)


class _FusedSGDLinear(torch.autograd.Function):
    """Like :class:`_BatchedLinear`, but the backward pass *applies* the plain SGD update in place,
    ``W -= lr * g^T h`` (one ``baddbmm_``) and ``b -= lr * sum_B g``, instead of materialising the weight
    gradient and adding it in a second pass (about 3x less memory traffic for the big layers). The input
    gradient is computed from the weights before they change. Returns no gradient for W and b."""

    @staticmethod
    def forward(ctx, h, w, b, m, lr):
        ww = w if m is None else w * m
        ctx.save_for_backward(h, ww)
        ctx.w, ctx.b, ctx.lr = w, b, lr
        return torch.baddbmm(b.unsqueeze(1), h, ww.transpose(1, 2))

    @staticmethod
    def backward(ctx, g):
        h, ww = ctx.saved_tensors
        gh = torch.bmm(g, ww) if ctx.needs_input_grad[0] else None
        with torch.no_grad():
            ctx.w.baddbmm_(g.transpose(1, 2), h, alpha=-ctx.lr)
            ctx.b.sub_(g.sum(1), alpha=ctx.lr)
        return gh, None, None, None, None


class FCN(nn.Module):
    """R stacked FCNs with widths ``dims = [D, h1, ..., K]``.

    Parameters: ``weights[l]`` (R, out, in), ``biases[l]`` (R, out); with ``input_bn`` also
    ``bn_weight[l]``/``bn_bias[l]`` (R, in). Buffers: ``mask_l`` (R, out, in) float,
    ``bias_mask_l`` (R, out) float, and BN running statistics ``bn_mean_l``/``bn_var_l`` (R, in).
    """

    def __init__(self, dims: Sequence[int], replicas: int = 1, activation: str = "relu", init: str = "uniform",
                 input_bn: bool = False, seeds: Sequence[int] | None = None):
        super().__init__()
        if activation != "relu":
            raise ValueError(f"model.activation: only 'relu' is supported, got {activation!r}")
        self.dims = [int(d) for d in dims]
        self.R = int(replicas)
        self.activation = activation
        self.init = init
        self.input_bn = bool(input_bn)
        seeds = list(seeds) if seeds is not None else list(range(self.R))
        if len(seeds) != self.R:
            raise ValueError("need one init seed per replica")
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for l, (fi, fo) in enumerate(zip(self.dims[:-1], self.dims[1:])):
            ws, bs = zip(*(init_layer(fi, fo, init, g) for g in gens))
            self.weights.append(nn.Parameter(torch.stack(ws)))
            self.biases.append(nn.Parameter(torch.stack(bs)))
            self.register_buffer(f"mask_{l}", torch.ones(self.R, fo, fi))
            self.register_buffer(f"bias_mask_{l}", torch.ones(self.R, fo))
        if self.input_bn:
            self.bn_weight = nn.ParameterList([nn.Parameter(torch.ones(self.R, d)) for d in self.dims[:-1]])
            self.bn_bias = nn.ParameterList([nn.Parameter(torch.zeros(self.R, d)) for d in self.dims[:-1]])
            for l, d in enumerate(self.dims[:-1]):
                self.register_buffer(f"bn_mean_{l}", torch.zeros(self.R, d))
                self.register_buffer(f"bn_var_{l}", torch.ones(self.R, d))

    # ---------------------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return len(self.dims) - 1

    def mask(self, l: int) -> torch.Tensor:
        return getattr(self, f"mask_{l}")

    def bias_mask(self, l: int) -> torch.Tensor:
        return getattr(self, f"bias_mask_{l}")

    def masks(self) -> list[torch.Tensor]:
        return [self.mask(l) for l in range(self.num_layers)]

    def bias_masks(self) -> list[torch.Tensor]:
        return [self.bias_mask(l) for l in range(self.num_layers)]

    @torch.no_grad()
    def set_masks(self, masks: Sequence[torch.Tensor], bias_masks: Sequence[torch.Tensor] | None = None) -> None:
        """Set masks (R, out, in) per layer (bool or float) and zero the pruned weights."""
        for l, m in enumerate(masks):
            self.mask(l).copy_(m.to(self.mask(l).device, torch.float32).reshape(self.mask(l).shape))
        if bias_masks is not None:
            for l, m in enumerate(bias_masks):
                self.bias_mask(l).copy_(m.to(self.bias_mask(l).device, torch.float32).reshape(self.bias_mask(l).shape))
        self.apply_masks()

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero the pruned weights (and pruned biases)."""
        torch._foreach_mul_(list(self.weights), self.masks())
        torch._foreach_mul_(list(self.biases), self.bias_masks())

    # ---------------------------------------------------------------------------------------------
    def _bn(self, h: torch.Tensor, l: int) -> torch.Tensor:
        mean_buf, var_buf = getattr(self, f"bn_mean_{l}"), getattr(self, f"bn_var_{l}")
        if self.training:
            mean = h.mean(dim=1)
            var = h.var(dim=1, unbiased=False)
            with torch.no_grad():
                n = h.shape[1]
                mean_buf.mul_(1 - BN_MOMENTUM).add_(mean.detach(), alpha=BN_MOMENTUM)
                unb = var.detach() * (n / max(n - 1, 1))
                var_buf.mul_(1 - BN_MOMENTUM).add_(unb, alpha=BN_MOMENTUM)
        else:
            mean, var = mean_buf, var_buf
        hn = (h - mean.unsqueeze(1)) * torch.rsqrt(var.unsqueeze(1) + BN_EPS)
        return hn * self.bn_weight[l].unsqueeze(1) + self.bn_bias[l].unsqueeze(1)

    def layer_input(self, h: torch.Tensor, l: int) -> torch.Tensor:
        """The input transform of layer ``l`` (BN when enabled, identity otherwise)."""
        return self._bn(h, l) if self.input_bn else h

    def forward(self, x: torch.Tensor, masked: bool = True, sgd_lr: float | None = None) -> torch.Tensor:
        """``x`` (R, B, D) (or (B, D) when R = 1) -> logits (R, B, K).

        ``sgd_lr``: fused-SGD mode for the training loop: backpropagating the output then updates the
        weights and biases in place with learning rate ``sgd_lr`` (see :class:`_FusedSGDLinear`)."""
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.R, -1, -1)
        h = x
        L = self.num_layers
        for l in range(L):
            h = self.layer_input(h, l)
            if sgd_lr is not None:
                h = _FusedSGDLinear.apply(h, self.weights[l], self.biases[l], self.mask(l) if masked else None,
                                          float(sgd_lr))
            else:
                w = self.weights[l]
                if masked:
                    w = w * self.mask(l)
                h = batched_linear(h, w, self.biases[l])
            if l < L - 1:
                h = F.relu(h)
        return h

    # ---- analysis helpers -----------------------------------------------------------------------
    @torch.no_grad()
    def first_layer_input(self, x: torch.Tensor) -> torch.Tensor:
        """The features the first layer sees: BN (eval mode, running stats) of ``x`` if enabled, else ``x``.
        ``x`` (B, D) or (R, B, D); returns (R, B, D)."""
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.R, -1, -1)
        was = self.training
        self.eval()
        try:
            return self.layer_input(x, 0)
        finally:
            self.train(was)

    @torch.no_grad()
    def first_layer_preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """λ = W (m ⊙) · T(x) + b of the first layer, (R, B, h1); T = :meth:`first_layer_input`."""
        z = self.first_layer_input(x)
        w = self.weights[0] * self.mask(0)
        return torch.baddbmm(self.biases[0].unsqueeze(1), z, w.transpose(1, 2))

    @torch.no_grad()
    def replica_state(self, r: int) -> dict[str, torch.Tensor]:
        """Replica r as plain CPU tensors keyed as in :mod:`impkit.runformat` (weights, biases, bool masks, BN)."""
        out: dict[str, torch.Tensor] = {}
        for l in range(self.num_layers):
            out[fmt.weight_key(l)] = self.weights[l][r].detach().cpu().clone()
            out[fmt.bias_key(l)] = self.biases[l][r].detach().cpu().clone()
            out[fmt.mask_key(l)] = self.mask(l)[r].detach().cpu() > 0.5
            out[fmt.bias_mask_key(l)] = self.bias_mask(l)[r].detach().cpu() > 0.5
            if self.input_bn:
                for key, t in zip(fmt.BN_KEYS, self._bn_tensors(l)):
                    out[f"{key}{l}"] = t[r].detach().cpu().clone()
        return out

    @torch.no_grad()
    def load_replica_state(self, r: int, state: dict, masks: bool = True) -> None:
        """Inverse of :meth:`replica_state` (numpy arrays or tensors); missing mask keys leave masks as they are."""
        def t(v, like):
            return torch.as_tensor(np.asarray(v) if not torch.is_tensor(v) else v).to(like.device, like.dtype)

        for l in range(self.num_layers):
            self.weights[l][r].copy_(t(state[fmt.weight_key(l)], self.weights[l]))
            self.biases[l][r].copy_(t(state[fmt.bias_key(l)], self.biases[l]))
            if masks and fmt.mask_key(l) in state:
                self.mask(l)[r].copy_(t(state[fmt.mask_key(l)], self.mask(l)))
            if masks and fmt.bias_mask_key(l) in state:
                self.bias_mask(l)[r].copy_(t(state[fmt.bias_mask_key(l)], self.bias_mask(l)))
            if self.input_bn:
                for key, dst in zip(fmt.BN_KEYS, self._bn_tensors(l)):
                    dst[r].copy_(t(state[f"{key}{l}"], dst))

    def _bn_tensors(self, l: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Layer l's batch-norm (weight, bias, running mean, running var), in the order of runformat.BN_KEYS."""
        return (self.bn_weight[l], self.bn_bias[l], getattr(self, f"bn_mean_{l}"), getattr(self, f"bn_var_{l}"))

    def extract(self, r: int) -> "FCN":
        """Replica r as a new R = 1 FCN on CPU."""
        m = FCN(self.dims, 1, self.activation, self.init, self.input_bn, seeds=[0])
        m.load_replica_state(0, self.replica_state(r))
        m.train(self.training)
        return m


def build_model(model_cfg, input_dim: int, num_classes: int, replicas: int, seeds: Sequence[int]) -> FCN:
    """FCN from a :class:`~impkit.config.ModelConfig` for data of dimension D and K classes."""
    dims = [input_dim, *model_cfg.hidden, num_classes]
    return FCN(dims, replicas, model_cfg.activation, model_cfg.init, model_cfg.input_bn, seeds=seeds)


__all__ = ["FCN", "build_model", "init_layer"]
