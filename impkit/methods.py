"""The pruning methods: one registry, one registration per method.

A :class:`PruningMethod` says how m(n) is computed from what earlier rounds left in the run directory, and how the
method is shown (label, colour). Everything that lists or dispatches on methods -- config validation, the round
driver, the CLI, the analyses, the figures and the notebooks -- asks this registry, so adding a method is one
:func:`register` call (see ARCHITECTURE.md for an example)::

    @register("mine", label="mine", colour="#009E73", help="...")
    def mine_masks(ctx: MaskContext) -> Masks:
        W, b = ctx.trained(ctx.n - 1)       # θ(T) of the previous round, per layer
        ...
        return Masks(weights=[...], biases=[...])

The three methods of the paper (IMP, one-shot magnitude pruning, random pruning) are registered below; their
mathematics lives in :mod:`impkit.prune`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from impkit import prune as P
from impkit.runformat import Masks

# Okabe-Ito colours, as in the paper's Fig 4: IMP black, one-shot blue, random vermillion
_BLACK, _BLUE, _VERMILLION = "#000000", "#0072B2", "#D55E00"


@dataclass
class MaskContext:
    """What a method may read to compute m(n) for one run (all on the CPU, per layer lists).

    ``trained(k)`` / ``mask(k)`` give θ(T) and m(k) of an earlier round k of this run (``(W, b)`` and
    :class:`~impkit.runformat.Masks`); ``rewind()`` gives θ(t_rewind); ``data(split)`` the run's
    :class:`~impkit.data.base.Dataset` ("train" or "test"); ``shapes`` are the (out, in) weight shapes; ``prune``
    is the run's :class:`~impkit.config.PruneConfig`, ``seed`` its seed and ``cfg`` its whole config; ``init()``
    gives θ(0) per layer, rebuilt from the run's seed exactly as initialisation draws it.
    """

    n: int
    shapes: list[tuple[int, int]]
    prune: object
    seed: int
    trained: Callable[[int], tuple[list[torch.Tensor], list[torch.Tensor]]]
    mask: Callable[[int], Masks]
    rewind: Callable[[], tuple[list[torch.Tensor], list[torch.Tensor]]]
    data: Callable[[str], object] | None = None
    cfg: object = None
    init: Callable[[], tuple[list[torch.Tensor], list[torch.Tensor]]] | None = None


MaskFn = Callable[[MaskContext], Masks]


@dataclass(frozen=True)
class PruningMethod:
    """A registered method: ``name`` (config and CLI value), display ``label`` and ``colour``, ``help`` (one line),
    ``masks(ctx)`` computing m(n) for n >= 1, ``global_scope`` (whether ``prune.scope="global"`` makes sense) and
    ``dynamics`` (:class:`impkit.dynamic.Dynamics` for a method whose mask changes during training, e.g. SET: then
    ``masks(ctx)`` is the mask round n starts from; None for the usual fixed mask) and ``marker`` (matplotlib
    marker of its curves: with nine methods on one axis, colour alone does not tell every pair apart)."""

    name: str
    label: str
    colour: str
    help: str
    masks: MaskFn
    global_scope: bool = True
    dynamics: object = None
    marker: str = "o"


_REGISTRY: dict[str, PruningMethod] = {}
PAPER_METHODS = ("imp", "oneshot", "random")  # the paper's method and its two baselines (the default everywhere)


def register(name: str, *, label: str, colour: str, help: str, global_scope: bool = True,
             dynamics=None, marker: str = "o") -> Callable[[MaskFn], MaskFn]:
    """Decorator: register ``fn(ctx: MaskContext) -> Masks`` as the pruning method ``name`` (``dynamics``,
    ``marker``: see :class:`PruningMethod`)."""

    def deco(fn: MaskFn) -> MaskFn:
        if name in _REGISTRY:
            raise ValueError(f"pruning method {name!r} is already registered")
        _REGISTRY[name] = PruningMethod(name, label, colour, help, fn, global_scope, dynamics, marker)
        return fn

    return deco


def unregister(name: str) -> None:
    """Remove a registered method (for tests and interactive experiments)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Registered method names in registration order (the order of tables and legends)."""
    return tuple(_REGISTRY)


def get(name: str) -> PruningMethod:
    """The method ``name``; ValueError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown pruning method {name!r}; known: {', '.join(_REGISTRY)}") from None


def order(name: str) -> int:
    """Position of ``name`` in :func:`names` (unknown names sort last)."""
    return names().index(name) if name in _REGISTRY else len(_REGISTRY)


# ------------------------------------------------------------------------------------------------
# the paper's three methods
# ------------------------------------------------------------------------------------------------
@register("imp", label="IMP", colour=_BLACK,
          help="iterative magnitude pruning: the smallest surviving weights of θ(T) of round n-1")
def imp_masks(ctx: MaskContext) -> Masks:
    W, b = ctx.trained(ctx.n - 1)
    prev = ctx.mask(ctx.n - 1)
    m, bm = P.imp_masks(W, b, prev.weight_tensors(), prev.bias_tensors(), ctx.prune, ctx.n)
    return Masks.from_tensors(m, bm)


@register("oneshot", label="one-shot", colour=_BLUE,
          help="one-shot magnitude pruning of the dense round-0 θ(T) to round n's counts")
def oneshot_masks(ctx: MaskContext) -> Masks:
    W, b = ctx.trained(0)
    return Masks.from_tensors(*P.oneshot_masks(W, b, ctx.prune, ctx.n))


@register("random", label="random", colour=_VERMILLION, global_scope=False,
          help="uniformly random masks with round n's per-layer counts (nested across rounds)")
def random_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*P.random_masks(ctx.shapes, ctx.prune, ctx.n, ctx.seed))


__all__ = ["PruningMethod", "MaskContext", "register", "unregister", "names", "get", "order", "PAPER_METHODS"]


# ------------------------------------------------------------------------------------------------
# cavity-guided pruning: the method the paper proposes (Discussion) and a variant; see impkit.cavity_pruning
# ------------------------------------------------------------------------------------------------
from impkit import cavity_pruning as _cavity  # noqa: E402  (light: loads impkit.metrics only when masks are made)

_GREEN, _PURPLE = "#009E73", "#CC79A7"  # Okabe-Ito bluish green and reddish purple


@register("cavity", label="cavity", colour=_GREEN, global_scope=False, marker="s",
          help="cavity-guided: first layer loses the surviving weights with the largest cavity score at "
               "θ(t_rewind) ⊙ m(n-1); other layers by magnitude as IMP")
def cavity_masks(ctx: MaskContext) -> Masks:
    return _cavity.method_masks(ctx, point="rewind")


@register("cavity-trained", label="cavity at θ(T)", colour=_PURPLE, global_scope=False, marker="D",
          help="cavity-guided, first layer scored at θ(T) of round n-1 ⊙ m(n-1) instead of the rewind point")
def cavity_trained_masks(ctx: MaskContext) -> Masks:
    return _cavity.method_masks(ctx, point="trained")


# ------------------------------------------------------------------------------------------------
# beyond the paper: other sparsifiers at IMP's counts (scores and choices: impkit.sparsifiers)
# ------------------------------------------------------------------------------------------------
from impkit import sparsifiers as _sp  # noqa: E402

_ORANGE, _SKY, _YELLOW, _BROWN, _OLIVE, _GREY = "#E69F00", "#56B4E9", "#B8A100", "#8C564B", "#6B8E23", "#7F7F7F"


@register("snip", label="SNIP", colour=_ORANGE, global_scope=False, marker="s",
          help="SNIP (Lee et al. 2019): one shot by |∂L/∂θ ⊙ θ| at θ(0) on a minibatch, to round n's counts")
def snip_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.snip_masks(ctx, iterative=False))


@register("snip-iterative", label="iterative SNIP", colour=_SKY, global_scope=False, marker="D",
          help="iterative SNIP (de Jorge et al. 2021): |∂L/∂θ ⊙ θ| recomputed at θ(0) ⊙ m(n-1), no training")
def snip_iterative_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.snip_masks(ctx, iterative=True))


@register("synflow", label="SynFlow", colour=_YELLOW, global_scope=False, marker="v",
          help="SynFlow (Tanaka et al. 2020): data-free synaptic-flow score at θ(0), iterative to round n's counts")
def synflow_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.synflow_masks(ctx))


@register("obd", label="OBD", colour=_BROWN, global_scope=False, marker="^",
          help="Optimal Brain Damage (LeCun et al. 1990): saliency ½ h θ² of the dense round-0 θ(T), one shot")
def obd_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.obd_masks(ctx, iterative=False))


@register("obd-iterative", label="iterative OBD", colour=_OLIVE, global_scope=False, marker="P",
          help="OBD on IMP's schedule: saliency ½ h θ² of θ(T) of round n-1 ⊙ m(n-1)")
def obd_iterative_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.obd_masks(ctx, iterative=True))


@register("set", label="SET", colour=_GREY, global_scope=False, marker="X", dynamics=_sp.SET_DYNAMICS,
          help="SET (Mocanu et al. 2018): sparse from θ(0) at round n's counts, periodic magnitude drop and "
               "random regrowth")
def set_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.set_start_masks(ctx))


@register("rigl", label="RigL", colour="#17BECF", global_scope=False, marker="*", dynamics=_sp.RIGL_DYNAMICS,
          help="RigL (Evci et al. 2020): as SET, but regrowth by the largest |∂L/∂W| on a minibatch and ζ "
               "cosine-decayed")
def rigl_method_masks(ctx: MaskContext) -> Masks:
    return Masks.from_tensors(*_sp.set_start_masks(ctx))
