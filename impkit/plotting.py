"""Figures of the paper, from plain arrays (never run objects), in one colour-blind-safe style.

Style: the Okabe-Ito palette; methods have the colours and names of the pruning-method registry
(:mod:`impkit.methods`: IMP black, one-shot blue, random vermillion as in the paper's Fig 4), data vs Gaussian clone
are told apart by line style (solid vs dashed). Curves are keyed by :class:`~impkit.conditions.Condition`. Every
function returns a matplotlib Figure and leaves saving to the caller.
"""
from __future__ import annotations

from typing import Mapping, Sequence

# The backend is the caller's choice (inline in notebooks, Agg in scripts and tests via MPLBACKEND).
import matplotlib
import matplotlib.patches
import matplotlib.ticker
import matplotlib.pyplot as plt
import numpy as np

from impkit import methods
from impkit.conditions import Condition
from impkit.metrics import summarize_over_seeds

__all__ = [
    "OKABE_ITO", "SOURCE_STYLES", "style", "method_color", "condition_color", "condition_style",
    "mask_gallery", "mask_rgb", "filter_grid", "ica_pca_figure", "clone_figure",
    "metric_vs_sparsity", "sparsity_axis", "SPARSITY_TICKS", "COUNT_NOTE", "cavity_by_fate", "cavity_by_fate_rounds",
    "rf_width_hist", "effect_by_rung", "effect_vs_kurtosis", "effect_axis",
    "paired_by_seed",
]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "skyblue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
SOURCE_STYLES = {"data": "-", "clone": "--"}
_CYCLE = [OKABE_ITO[k] for k in ("black", "blue", "vermillion", "green", "orange", "skyblue", "purple", "yellow")]

_RC = {
    "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
    "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.prop_cycle": matplotlib.cycler(color=_CYCLE), "image.cmap": "gray",
}


def style() -> None:
    """Apply impkit's rcParams globally (notebooks call this once)."""
    plt.rcParams.update(_RC)


def method_color(method: str, i: int = 0) -> str:
    """Colour of a registered pruning method (:mod:`impkit.methods`); the ``i``-th colour of the cycle otherwise."""
    return methods.get(method).colour if method in methods.names() else _CYCLE[i % len(_CYCLE)]


def condition_color(key: Condition | str, i: int = 0) -> str:
    """Colour of a curve: its method's (:func:`method_color`) for a :class:`Condition`, the ``i``-th of the cycle
    for any other key."""
    return method_color(key.method, i) if isinstance(key, Condition) else _CYCLE[i % len(_CYCLE)]


def condition_marker(key: Condition | str) -> str:
    """Marker of a curve: its method's registry marker for a registered :class:`Condition`, "o" otherwise."""
    if isinstance(key, Condition) and key.method in methods.names():
        return methods.get(key.method).marker
    return "o"


def condition_style(key: Condition | str) -> tuple[str, str]:
    """(line style, legend label) of a curve: dashed for a Gaussian clone, solid otherwise; the label is
    :attr:`Condition.display` for a condition, the key itself for any other key."""
    if isinstance(key, Condition):
        return SOURCE_STYLES["clone" if key.clone else "data"], key.display
    return SOURCE_STYLES["data"], str(key)


def _fig(*args, **kw):
    with plt.rc_context(_RC):
        return plt.subplots(*args, **kw)


RGB_MODES = ("colour", "any", "split")
COUNT_NOTE = "number above each mask: the weights the unit keeps"
_RGB_NOTE = {"colour": "kept weights coloured by input channel (R, G, B; white = all three), pruned black",
             "any": "white = a weight kept in any colour channel, black = pruned in all three",
             "split": "channels R | G | B side by side; white = kept, black = pruned"}


def mask_rgb(mask, image_shape, rgb: str = "colour") -> np.ndarray:
    """One unit's mask (D,) -> an image (H, W, 3) (``rgb="split"``: (H, 3W + 2, 3)).

    One channel: white = kept, black = pruned. Three channels (CHW rows), by ``rgb``:

    * ``"colour"`` (default; the convention of the paper's Fig. 1): a kept weight is drawn in the colour of the input
      channel it connects to, channels adding up where several survive at one pixel (red = only R, yellow = R and
      G, white = all three); pruned weights are black.
    * ``"any"``: the unit's spatial footprint, white where any channel keeps a weight.
    * ``"split"``: the three channel planes side by side (R | G | B, one grey separator column between them).

    Other channel counts are shown as the fraction of channels kept at each pixel (grey levels).
    """
    if rgb not in RGB_MODES:
        raise ValueError(f"rgb must be one of {RGB_MODES}, got {rgb!r}")
    c, h, w = image_shape
    m = (np.asarray(mask).reshape(c, h, w) != 0).astype(float)
    if c == 1:
        return np.repeat(m[0][..., None], 3, axis=2)
    if c == 3 and rgb == "colour":
        return m.transpose(1, 2, 0)
    if c == 3 and rgb == "split":
        sep = np.full((h, 1), 0.5)
        return np.repeat(np.concatenate([m[0], sep, m[1], sep, m[2]], axis=1)[..., None], 3, axis=2)
    plane = m.max(0) if rgb == "any" else m.mean(0)
    return np.repeat(plane[..., None], 3, axis=2)


def mask_gallery(masks, image_shape, n: int = 16, order: str = "most", title: str | None = None,
                 ncols: int | None = None, units: Sequence[int] | None = None, rgb: str = "colour"):
    """Fig 1: first-layer masks of the units with the most surviving weights (``order="most"``) or the given units.

    masks: (units, D) 0/1; image_shape: (C, H, W). Each panel is titled with the unit's number of kept weights,
    which the figure's title says (:data:`COUNT_NOTE`). For RGB inputs ``rgb`` chooses how the three channels are
    drawn (see :func:`mask_rgb`; default the paper's colour code) and the convention is stated under the title.
    """
    m = np.asarray(masks) != 0
    if units is None:
        counts = m.sum(1)
        units = np.argsort(-counts, kind="stable")[:n] if order == "most" else np.arange(min(n, len(m)))
    units = list(units)
    ncols = ncols or int(np.ceil(np.sqrt(len(units))))
    nrows = int(np.ceil(len(units) / ncols))
    if rgb not in RGB_MODES:
        raise ValueError(f"rgb must be one of {RGB_MODES}, got {rgb!r}")
    note = f"{_RGB_NOTE[rgb]}\n{COUNT_NOTE}" if image_shape[0] == 3 else COUNT_NOTE
    width = 3.0 if (rgb == "split" and image_shape[0] == 3) else 1.0
    head = (0.3 if title else 0) + 0.25 * (note.count("\n") + 1)
    fig, axes = _fig(nrows, ncols, figsize=(1.3 * width * ncols, 1.3 * nrows + head), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, u in zip(axes.ravel(), units):
        ax.imshow(mask_rgb(m[u], image_shape, rgb), interpolation="nearest")
        ax.set_title(f"{int(m[u].sum())}", fontsize=7)
    fig.suptitle("\n".join(t for t in (title, note) if t), fontsize=9)
    fig.tight_layout()
    return fig


def filter_grid(filters, image_shape, n: int | None = None, ncols: int = 8, title: str | None = None, ax=None,
                scores=None):
    """Filters (F, D) as images in a grid (symmetric grey scale per filter); optional score shown on each."""
    f = np.asarray(filters, dtype=float)
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    c, h, w = shape
    n = len(f) if n is None else min(n, len(f))
    nrows = int(np.ceil(n / ncols))
    pad = 1
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 0.5)
    for i in range(n):
        img = f[i].reshape(c, h, w).transpose(1, 2, 0)
        if c != 3:
            img = np.repeat(img.mean(2, keepdims=True), 3, axis=2)
        s = np.abs(img).max() or 1.0
        img = 0.5 + 0.5 * img / s
        r, q = divmod(i, ncols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = img
    if ax is None:
        fig, ax = _fig(figsize=(0.25 * canvas.shape[1] / 4 + 1, 0.25 * canvas.shape[0] / 4 + 0.5))
    else:
        fig = ax.figure
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def ica_pca_figure(ica_filters, pca_filters, image_shape, ica_score=None, pca_score=None, n: int = 64,
                   score_name: str = "best-window energy"):
    """Fig 2: ICA (left) vs PCA (right) filter grids; medians of a localisation score in the titles."""
    fig, axes = _fig(1, 2, figsize=(9, 4.6))
    t_ica, t_pca = "ICA", "PCA"
    if ica_score is not None:
        t_ica += f" (median {score_name} {np.median(ica_score):.2f})"
    if pca_score is not None:
        t_pca += f" (median {score_name} {np.median(pca_score):.2f})"
    filter_grid(ica_filters, image_shape, n=n, ax=axes[0], title=t_ica)
    filter_grid(pca_filters, image_shape, n=n, ax=axes[1], title=t_pca)
    fig.tight_layout()
    return fig


def _show_image(ax, x, image_shape):
    c, h, w = image_shape
    img = np.asarray(x, dtype=float).reshape(c, h, w).transpose(1, 2, 0)
    lo, hi = np.percentile(img, [1, 99])
    img = np.clip((img - lo) / (hi - lo + 1e-12), 0, 1)
    ax.imshow(img if c == 3 else img[..., 0], interpolation="nearest", cmap=None if c == 3 else "gray")
    ax.axis("off")


def clone_figure(data_examples, clone_examples, image_shape, data_masks=None, clone_masks=None,
                 widths: Mapping[str, tuple] | None = None, sparsity=None, n_examples: int = 4, n_masks: int = 4):
    """Fig 3: examples of the data and its Gaussian clone, final masks of both, and RF width vs sparsity.

    widths: {"data": (mean, min, max), "clone": (mean, min, max)} arrays over rounds (from summarize_over_seeds),
    plotted against ``sparsity`` (fractions).
    """
    has_masks = data_masks is not None and clone_masks is not None
    has_w = widths is not None and sparsity is not None
    ncols = max(n_examples, n_masks) + (2 if has_w else 0)
    nrows = 4 if has_masks else 2
    fig = plt.figure(figsize=(1.4 * ncols, 1.4 * nrows + 0.3))
    with plt.rc_context(_RC):
        gs = fig.add_gridspec(nrows, ncols)
        rows = [("data", data_examples), ("clone", clone_examples)]
        for r, (name, ex) in enumerate(rows):
            for i in range(min(n_examples, len(ex))):
                ax = fig.add_subplot(gs[r, i])
                _show_image(ax, ex[i], image_shape)
                if i == 0:
                    ax.set_title(name, loc="left")
        if has_masks:
            for r, (name, mk) in enumerate([("data masks", data_masks), ("clone masks", clone_masks)]):
                m = np.asarray(mk) != 0
                top = np.argsort(-m.sum(1), kind="stable")[:n_masks]
                for i, u in enumerate(top):
                    ax = fig.add_subplot(gs[2 + r, i])
                    ax.imshow(mask_rgb(m[u], image_shape), interpolation="nearest")  # the paper's colour code
                    ax.axis("off")
                    if i == 0:
                        ax.set_title(name, loc="left")
        if has_w:
            ax = fig.add_subplot(gs[:, -2:])
            x = _kept(sparsity)
            for name in ("data", "clone"):
                if name in widths:
                    mean, lo, hi = (np.asarray(v, float) for v in widths[name])
                    ax.plot(x, mean, SOURCE_STYLES[name], color=OKABE_ITO["black"], label=name)
                    ax.fill_between(x, lo, hi, color=OKABE_ITO["black"], alpha=0.15, linewidth=0)
            sparsity_axis(ax, x)
            ax.set_ylabel(r"RF width $\sigma_x$ (pixels)")
            ax.legend(frameon=False)
        fig.tight_layout()
    return fig


# Sparsities (%) that may label the x axis of a figure against sparsity (those inside the data's range are used).
SPARSITY_TICKS = (0, 50, 80, 90, 95, 97, 98, 99, 99.5, 99.8, 99.9, 99.95, 99.99)
SPARSITY_LABEL = "first-layer sparsity (%; log scale of the weights kept)"


def _kept(sparsity) -> np.ndarray:
    """Fraction of weights kept, 1 - sparsity (floored above 0 for the log scale)."""
    return np.maximum(1.0 - np.asarray(sparsity, float), 1e-9)


def sparsity_axis(ax, kept, label: str = SPARSITY_LABEL) -> None:
    """Make ``ax``'s x axis the book's sparsity axis for points at ``kept`` = 1 - sparsity (fractions).

    The axis is logarithmic in the fraction of weights kept, decreasing to the right, and labelled with sparsity
    in %: each round of pruning a fixed share of the survivors moves a point by the same distance, so rounds are
    evenly spaced and the last rounds (80-97 % sparsity, where methods separate) get as much room as the first.
    """
    k = np.asarray(kept, float)
    k = k[np.isfinite(k) & (k > 0)]
    hi, lo = (float(k.max()), float(k.min())) if k.size else (1.0, 0.1)
    if lo == hi:
        lo = hi / 2
    pad = (hi / lo) ** 0.04
    ax.set_xscale("log")
    ax.set_xlim(hi * pad, lo / pad)  # decreasing: sparsity grows to the right
    ticks = [t for t in SPARSITY_TICKS if lo / pad <= 1 - t / 100 <= hi * pad]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator([1 - t / 100 for t in ticks]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{t:g}" for t in ticks]))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel(label)


def metric_vs_sparsity(curves: Mapping[Condition | str, Mapping], ylabel: str, ax=None, title: str | None = None,
                       hline: float | None = None):
    """Fig 4A/B: a metric vs sparsity for several methods (and data/clone), line = mean, band = min..max over seeds.

    The x axis is :func:`sparsity_axis` (log scale of the weights kept, labelled with sparsity).

    curves: {condition: {"sparsity": (R,), "mean": (R,), "min": (R,), "max": (R,)}} (or "values": (seeds, R),
    from which mean/min/max are computed), as :func:`impkit.analysis.curves` gives. A :class:`Condition` gets its
    method's registry colour and name, dashed on the clone (:func:`condition_color`, :func:`condition_style`);
    any other key is drawn solid in the colour cycle, labelled by itself.
    """
    if ax is None:
        fig, ax = _fig(figsize=(4.2, 3.0))
    else:
        fig = ax.figure
    xs = []
    for i, (key, c) in enumerate(curves.items()):
        x = _kept(c["sparsity"])
        xs.append(x)
        if "values" in c:
            sm = summarize_over_seeds(c["values"])  # NaN-aware: a round where no seed has a value stays NaN
            mean, lo, hi = sm["mean"], sm["min"], sm["max"]
        else:
            mean = np.asarray(c["mean"], float)
            lo = np.asarray(c.get("min", mean), float)
            hi = np.asarray(c.get("max", mean), float)
        color = condition_color(key, i)
        ls, name = condition_style(key)
        ax.plot(x, mean, ls, color=color, marker=condition_marker(key), markersize=3.5, label=name)
        ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
    if hline is not None:
        ax.axhline(hline, color="0.5", lw=0.8, ls=":")
    sparsity_axis(ax, np.concatenate(xs) if xs else [])
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def cavity_by_fate(fates, mean, lo=None, hi=None, ax=None, title: str | None = "cavity score at round 0",
                   never: int | None = None, never_label: str = "never"):
    """Fig 5B: mean cavity score (round 0) per fate round; band = min..max over seeds (or any spread given).

    ``never``: the sentinel fate of weights that are never pruned (``fate_round``'s N + 1), labelled "never".
    """
    if ax is None:
        fig, ax = _fig(figsize=(4.0, 3.0))
    else:
        fig = ax.figure
    f = np.asarray(fates)
    x = np.arange(len(f))
    ax.plot(x, mean, "-o", color=OKABE_ITO["black"], markersize=3)
    if lo is not None and hi is not None:
        ax.fill_between(x, lo, hi, color=OKABE_ITO["black"], alpha=0.18, linewidth=0)
    ax.axhline(0, color="0.5", lw=0.8, ls=":")
    ax.set_xticks(x)
    ax.set_xticklabels([never_label if (never is not None and v == never) else str(v) for v in f])
    ax.set_xlabel("round in which the weight is pruned")
    ax.set_ylabel("cavity score")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def cavity_by_fate_rounds(fates, mean_by_round, ax=None, highlight_fate: int | None = None,
                          title: str | None = r"$N_W(n)\cdot$cavity after round n"):
    """Fig 5C: one line per scoring round n (colour from a sequential colour-blind-safe map), x = fate round.

    mean_by_round: (R, F) as returned by ``cavity_by_fate_over_rounds(...)["mean"]`` (or its mean over seeds).
    """
    if ax is None:
        fig, ax = _fig(figsize=(4.6, 3.2))
    else:
        fig = ax.figure
    f = np.asarray(fates)
    mr = np.atleast_2d(np.asarray(mean_by_round, float))
    cmap = plt.get_cmap("viridis")
    for n, row in enumerate(mr):
        ax.plot(f, row, "-o", markersize=2.5, color=cmap(n / max(len(mr) - 1, 1)), label=f"n = {n}")
    ax.axhline(0, color="0.5", lw=0.8, ls=":")
    if highlight_fate is not None:
        ax.axvline(highlight_fate, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("round in which the weight is pruned")
    ax.set_ylabel(r"$N_W(n)\cdot$cavity")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, ncol=2, fontsize=7)
    fig.tight_layout()
    return fig


def rf_width_hist(widths: Mapping[Condition | str, np.ndarray], sigma_max: float | None = None, bins: int = 30,
                  ax=None, title: str | None = None):
    """Distribution of per-unit widths (units,) for several conditions (NaN = excluded units are dropped).

    Keys as in :func:`metric_vs_sparsity`: a :class:`Condition` gets its method's colour and name, dashed on the
    clone; any other key is drawn solid in the colour cycle, labelled by itself.
    """
    if ax is None:
        fig, ax = _fig(figsize=(4.0, 3.0))
    else:
        fig = ax.figure
    allv = np.concatenate([np.asarray(v, float)[np.isfinite(v)] for v in widths.values()] or [np.zeros(1)])
    edges = np.linspace(0, sigma_max or (allv.max() if allv.size else 1.0), bins + 1)
    for i, (key, v) in enumerate(widths.items()):
        v = np.asarray(v, float)
        ls, name = condition_style(key)
        ax.hist(v[np.isfinite(v)], bins=edges, histtype="step", color=condition_color(key, i), ls=ls, label=name)
    ax.set_xlabel(r"RF width $\sigma_x$ (pixels)")
    ax.set_ylabel("units")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# the scale study (notebook 08) and the dose response (notebook 09)
# ------------------------------------------------------------------------------------------------
def _seed_stats(values) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if not v.size:
        return (np.nan, np.nan, np.nan)
    return float(v.mean()), float(v.min()), float(v.max())


def _finish(fig, ax, ylabel: str, title: str | None):
    """The common end of the scale-study figures: y label, title, a small legend, tight layout."""
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def effect_by_rung(points: Sequence[Mapping], ylabel: str, ax=None, title: str | None = None,
                   ref: float | None = None, ref_label: str | None = None, zero: bool = True,
                   delta: float | None = None):
    """One effect across the rungs of the scale study: a marker at the mean over seeds with a min..max bar, or,
    where a point has ``"interval": (mean, lo, hi)`` (an :class:`impkit.verdicts.Effect`'s), with its 90 %
    interval.

    ``points``: in ladder order, each ``{"label": rung name, "group": task name, "values": (seeds,) per-seed
    effect, "recorded": bool}``; groups get colours of the cycle (in order of first appearance) and are separated
    by thin vertical lines; recorded rungs are drawn hollow. ``ref`` draws the paper's value (dotted, labelled
    ``ref_label``); ``zero`` a line at 0 (no effect); ``delta`` shades the margin ±δ of the verdict rule (an
    interval inside it: *not reproduced*; wholly above: *reproduced*).
    """
    if ax is None:
        fig, ax = _fig(figsize=(max(4.2, 0.42 * len(points) + 1.5), 3.2))
    else:
        fig = ax.figure
    groups: list[str] = []
    for p in points:
        if p["group"] not in groups:
            groups.append(p["group"])
    shown: set[str] = set()
    if delta is not None:
        ax.axhspan(-delta, delta, color="0.92", lw=0, zorder=0, label=f"±δ = {delta:g}")
    for i, p in enumerate(points):
        mean, lo, hi = p["interval"] if p.get("interval") is not None else _seed_stats(p["values"])
        if not (np.isfinite(lo) and np.isfinite(hi)):  # one seed: no interval, the marker alone
            lo = hi = mean
        color = _CYCLE[groups.index(p["group"]) % len(_CYCLE)]
        label = p["group"] if p["group"] not in shown else None
        shown.add(p["group"])
        if np.isfinite(mean):
            ax.errorbar([i], [mean], yerr=[[mean - lo], [hi - mean]], fmt="o", color=color, ms=5, capsize=2,
                        mfc="white" if p.get("recorded") else color, label=label)
        else:  # undefined (e.g. no RF width): an x on the axis line, so the rung is visibly there
            ax.plot([i], [0], "x", color=color, ms=5, label=label)
        if i and points[i - 1]["group"] != p["group"]:
            ax.axvline(i - 0.5, color="0.85", lw=0.8)
    if zero:
        ax.axhline(0, color="0.6", lw=0.8)
    if ref is not None:
        ax.axhline(ref, color="0.3", lw=0.9, ls=":", label=ref_label)
    ax.set_xticks(range(len(points)))
    ax.set_xticklabels([p["label"] for p in points], rotation=40, ha="right")
    ax.set_xlim(-0.6, len(points) - 0.4)
    return _finish(fig, ax, ylabel, title)


def effect_vs_kurtosis(series: Mapping[str, Mapping], ylabel: str, ax=None, title: str | None = None,
                       hline: float | None = None):
    """Dose response: a quantity against the inputs' pixel kurtosis (log axis; 3 = Gaussian, marked).

    ``series``: label -> ``{"x": (P,) pixel kurtosis, "values": (P, seeds) per point and seed, "clone": bool}``;
    line = mean over seeds, bars = min..max; clones dashed (as everywhere in the book). ``hline``: a reference
    value (e.g. 3 for preactivation kurtosis).
    """
    if ax is None:
        fig, ax = _fig(figsize=(4.4, 3.1))
    else:
        fig = ax.figure
    for i, (label, s) in enumerate(series.items()):
        x = np.asarray(s["x"], dtype=float)
        stats = np.array([_seed_stats(v) for v in s["values"]]).reshape(-1, 3)
        order = np.argsort(x)
        x, stats = x[order], stats[order]
        color = s.get("color", _CYCLE[i % len(_CYCLE)])
        ls = SOURCE_STYLES["clone" if s.get("clone") else "data"]
        ax.errorbar(x, stats[:, 0], yerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]], fmt="o" + ls,
                    color=color, ms=3.5, capsize=2, lw=1.1, label=label)
    ax.axvline(3.0, color="0.6", lw=0.8, ls=":")
    if hline is not None:
        ax.axhline(hline, color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("pixel kurtosis of the inputs (3 = Gaussian; log scale)")
    return _finish(fig, ax, ylabel, title)


def _interval(e) -> tuple[float, float, float, str]:
    """(mean, lo, hi, verdict) of an :class:`impkit.verdicts.Effect` or its dict."""
    get = (lambda k: e.get(k)) if isinstance(e, Mapping) else (lambda k: getattr(e, k, None))
    f = lambda k: float(get(k)) if get(k) is not None else float("nan")  # noqa: E731
    return f("mean"), f("lo"), f("hi"), str(get("verdict") or "")


def effect_axis(effects: Mapping[str, object], nulls: Mapping[str, object] | None, delta: float, ax=None,
                unit: str = "", title: str | None = None, no_nulls: str = "no null runs recorded"):
    """A claim's verdict on one axis: each effect (rows from the top) as its mean with its 90 % interval, the margin
    ±δ marked (dashed lines, the band between them shaded: "no effect that matters"), 0 as a thin line, and below the
    effects the **null bands**: the 90 % intervals of the same effect in the recorded null runs, as grey bands.

    ``effects``: label -> :class:`impkit.verdicts.Effect` (or its dict: ``mean``, ``lo``, ``hi``, ``verdict``);
    the verdict is written beside each row. ``nulls``: label -> the same, for the null runs (None or empty: no band,
    and the axis says "no null runs recorded"). An interval with an infinite end (one seed) is drawn to the edge
    of the axis with an arrow; an undefined effect (NaN) as a cross at 0 labelled "undefined". ``no_nulls``: what
    the axis says when there is no null band.
    Returns the figure.
    """
    if not delta > 0:
        raise ValueError(f"effect_axis: the margin delta must be positive, got {delta!r}")
    nulls = dict(nulls or {})
    rows = [(str(k), _interval(e), False) for k, e in effects.items()] + \
           [(str(k), _interval(e), True) for k, e in nulls.items()]
    if ax is None:
        fig, ax = _fig(figsize=(4.6, 0.5 * max(len(rows), 2) + 1.0))
    else:
        fig = ax.figure
    finite = [x for _, (m, lo, hi, _v), _n in rows for x in (m, lo, hi) if np.isfinite(x)]
    span = max([abs(x) for x in finite] + [2 * delta])
    xmax = 1.15 * span
    ax.set_xlim(-xmax, xmax)
    ax.axvspan(-delta, delta, color="0.93", lw=0, zorder=0)
    for x in (-delta, delta):
        ax.axvline(x, color="0.45", lw=0.9, ls="--", zorder=1)
    ax.axvline(0, color="0.7", lw=0.7, zorder=1)
    labels = []
    for i, (label, (m, lo, hi, verdict), is_null) in enumerate(rows):
        y = -i
        labels.append(label)
        if not np.isfinite(m):
            ax.plot([0], [y], "x", color="0.3", ms=6, zorder=3)
            ax.annotate("undefined", (0, y), xytext=(6, 4), textcoords="offset points", fontsize=7, color="0.3")
            continue
        a, b = (max(lo, -xmax) if not np.isnan(lo) else m), (min(hi, xmax) if not np.isnan(hi) else m)
        if is_null:
            ax.add_patch(matplotlib.patches.Rectangle((a, y - 0.22), b - a, 0.44, color="0.6", alpha=0.45, lw=0,
                                                      zorder=2, gid="null band"))
            ax.plot([m], [y], "|", color="0.35", ms=9, zorder=3)
        else:
            ax.plot([a, b], [y, y], color=OKABE_ITO["black"], lw=2, zorder=3, solid_capstyle="butt")
            ax.plot([m], [y], "o", color=OKABE_ITO["black"], ms=5, zorder=4)
            for end, inf in ((a, np.isinf(lo)), (b, np.isinf(hi))):
                if inf:
                    ax.annotate("", xy=(end, y), xytext=(end - np.sign(end) * 0.1 * xmax, y),
                                arrowprops={"arrowstyle": "->", "color": OKABE_ITO["black"]})
            if verdict:
                ax.annotate(verdict, (m, y), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=7)
    if not nulls:
        ax.annotate(no_nulls, (0.99, 0.02), xycoords="axes fraction", ha="right", va="bottom",
                    fontsize=7, color="0.4")
    ax.set_yticks([-i for i in range(len(rows))])
    ax.set_yticklabels(labels)
    for t, (_, _, is_null) in zip(ax.get_yticklabels(), rows):
        if is_null:
            t.set_color("0.4")
    ax.set_ylim(-len(rows) + 0.4, 0.7)
    ax.set_xlabel(f"effect{f' ({unit})' if unit else ''}: mean and 90 % interval over seeds; dashed: ±δ = "
                  f"±{delta:g}")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def paired_by_seed(a, b, labels: Sequence[str] = ("a", "b"), ylabel: str = "", ax=None, title: str | None = None,
                   seeds: Sequence[int] | None = None):
    """Two values per seed side by side: a grey line per seed from ``a`` (left) to ``b`` (right), and the means over
    seeds as black bars. ``a``, ``b``: (seeds,) aligned by seed (NaN seeds drawn where finite). Returns the
    figure."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired_by_seed needs one value per seed on both sides, got {a.shape} and {b.shape}")
    if ax is None:
        fig, ax = _fig(figsize=(2.8, 3.1))
    else:
        fig = ax.figure
    for i in range(a.size):
        ax.plot([0, 1], [a[i], b[i]], "o-", color="0.55", ms=4, lw=1)
        if seeds is not None and np.isfinite(a[i]):
            ax.annotate(f"seed {seeds[i]}", (0, a[i]), xytext=(-6, 0), textcoords="offset points", ha="right",
                        va="center", fontsize=6, color="0.45")
    for x, v in ((0, a), (1, b)):
        v = v[np.isfinite(v)]
        if v.size:
            ax.plot([x - 0.18, x + 0.18], [v.mean()] * 2, color=OKABE_ITO["black"], lw=2.2, gid="mean")
    ax.set_xticks([0, 1])
    ax.set_xticklabels(list(labels))
    ax.set_xlim(-0.6, 1.4)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
