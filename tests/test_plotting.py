import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from impkit import methods, plotting  # noqa: E402
from impkit.conditions import Condition  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_mask_rgb_colours():
    m = np.zeros(3 * 2 * 2)
    m[0] = 1  # R at pixel (0, 0)
    m[[3, 7, 11]] = 1  # all channels at pixel (1, 1)
    img = plotting.mask_rgb(m, (3, 2, 2))
    np.testing.assert_array_equal(img[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(img[1, 1], [1, 1, 1])
    np.testing.assert_array_equal(img[0, 1], [0, 0, 0])


def test_figures_build():
    rng = np.random.default_rng(0)
    masks = rng.random((20, 3 * 8 * 8)) < 0.3
    figs = [plotting.mask_gallery(masks, (3, 8, 8), n=6, title="IMP round 10")]
    filt = rng.normal(size=(16, 64))
    figs.append(plotting.ica_pca_figure(filt, filt, (8, 8), ica_score=np.ones(16), pca_score=np.zeros(16), n=16))
    sp = 1 - 0.7 ** np.arange(1, 6)
    w = {"data": (np.arange(5.0), np.arange(5.0) - 1, np.arange(5.0) + 1), "clone": (np.ones(5), np.zeros(5), 2 * np.ones(5))}
    figs.append(plotting.clone_figure(rng.normal(size=(4, 192)), rng.normal(size=(4, 192)), (3, 8, 8),
                                      masks[:5], masks[5:10], widths=w, sparsity=sp))
    curves = {Condition("imp"): {"sparsity": sp, "values": rng.random((3, 5))},
              Condition("oneshot"): {"sparsity": sp, "mean": np.ones(5), "min": np.zeros(5), "max": 2 * np.ones(5)},
              Condition("random", clone=True): {"sparsity": sp, "values": rng.random((3, 5))}}
    figs.append(plotting.metric_vs_sparsity(curves, "kurtosis", hline=3.0))
    figs.append(plotting.cavity_by_fate(np.arange(1, 7), rng.normal(size=6), -np.ones(6), np.ones(6), never=6))
    figs.append(plotting.cavity_by_fate_rounds(np.arange(1, 7), rng.normal(size=(4, 6)), highlight_fate=3))
    figs.append(plotting.rf_width_hist({Condition("imp"): rng.random(30) * 10,
                                        Condition("random", True): np.r_[rng.random(30) * 30, np.nan]}))
    for f in figs:
        assert isinstance(f, matplotlib.figure.Figure)
        f.canvas.draw()
    ax = figs[3].axes[0]
    lines = {l.get_label(): l for l in ax.get_lines()}
    assert lines["IMP"].get_color() == methods.get("imp").colour
    assert lines["one-shot"].get_color() == methods.get("oneshot").colour and lines["one-shot"].get_linestyle() == "-"
    assert lines["random (clone)"].get_linestyle() == "--"
    assert lines["random (clone)"].get_color() == methods.get("random").colour


def test_every_pair_of_methods_differs_in_colour_or_marker_and_curves_use_the_marker():
    from impkit import sparsifiers as SP

    page = [*SP.PAGE_METHODS]  # the sparsifiers page draws these on one axis
    assert len({methods.get(m).colour for m in methods.names()}) == len(methods.names())
    # colours close enough to confuse (random's vermillion, SNIP's orange) are told apart by the marker
    assert methods.get("random").marker != methods.get("snip").marker
    assert len({methods.get(m).marker for m in page if m not in ("imp", "oneshot", "random")}) == \
        len([m for m in page if m not in ("imp", "oneshot", "random")])
    sp = np.array([0.0, 0.5, 0.75])
    fig = plotting.metric_vs_sparsity({Condition(m): {"sparsity": sp, "mean": sp} for m in page} |
                                      {"other": {"sparsity": sp, "mean": sp}}, "x")
    lines = {l.get_label(): l for l in fig.axes[0].get_lines()}
    for m in page:
        assert lines[Condition(m).display].get_marker() == methods.get(m).marker
    assert lines["other"].get_marker() == "o" and plotting.condition_marker(Condition("unregistered")) == "o"


def test_curve_keys_take_registry_names_and_colours():
    assert plotting.condition_style(Condition("oneshot", True)) == ("--", "one-shot (clone)")
    assert plotting.condition_color(Condition("random")) == methods.get("random").colour
    assert plotting.method_color("imp") == methods.get("imp").colour
    # a key that is not a Condition is shown as it is, never parsed: "imp clone" is not the IMP clone
    assert plotting.condition_style("imp clone") == ("-", "imp clone")
    assert plotting.condition_color("imp clone", 1) == plotting.condition_color("anything", 1)
    assert plotting.condition_color("imp clone", 1) != methods.get("imp").colour
    assert plotting.condition_color(Condition("unregistered"), 2) == plotting.condition_color("x", 2)
    fig = plotting.metric_vs_sparsity({"my curve": {"sparsity": [0.1, 0.2], "mean": [1.0, 2.0]}}, "y")
    assert [l.get_label() for l in fig.axes[0].get_lines()] == ["my curve"]


def test_mask_rgb_modes():
    m = np.zeros(3 * 2 * 2)
    m[0] = 1  # R at pixel (0, 0)
    m[[3, 7, 11]] = 1  # all channels at pixel (1, 1)
    np.testing.assert_array_equal(plotting.mask_rgb(m, (3, 2, 2), "any")[..., 0], [[1, 0], [0, 1]])
    split = plotting.mask_rgb(m, (3, 2, 2), "split")[..., 0]  # R | G | B with a grey separator column
    np.testing.assert_array_equal(split, [[1, 0, 0.5, 0, 0, 0.5, 0, 0], [0, 1, 0.5, 0, 1, 0.5, 0, 1]])
    with pytest.raises(ValueError, match="rgb"):
        plotting.mask_rgb(m, (3, 2, 2), "sum")


@pytest.mark.parametrize("rgb", ["colour", "any", "split"])
def test_rgb_gallery_states_its_convention(rgb):
    masks = np.random.default_rng(0).random((12, 3 * 32 * 32)) < 0.03  # paper-sized RGB masks
    fig = plotting.mask_gallery(masks, (3, 32, 32), n=8, ncols=8, title="IMP round 10", rgb=rgb)
    assert fig._suptitle.get_text().splitlines() == ["IMP round 10", plotting._RGB_NOTE[rgb], plotting.COUNT_NOTE]
    grey = plotting.mask_gallery(masks[:, :1024], (1, 32, 32), n=4, title="grey")
    assert grey._suptitle.get_text() == f"grey\n{plotting.COUNT_NOTE}"  # no colour note for one channel


def test_effect_by_rung_draws_every_rung_and_hollow_recorded():
    pts = [{"label": "base", "group": "nlgp", "values": [0.1, 0.2]},
           {"label": "big", "group": "nlgp", "values": [0.3, 0.5], "recorded": True},
           {"label": "heavy", "group": "heavy", "values": [float("nan")]}]
    fig = plotting.effect_by_rung(pts, "gap", ref=1.0, ref_label="paper")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["base", "big", "heavy"]
    bars = [c for c in ax.containers]
    assert len(bars) == 2  # two defined rungs with error bars; the undefined one is an x marker
    assert bars[0].lines[0].get_ydata()[0] == pytest.approx(0.15)
    assert bars[1].lines[0].get_markerfacecolor() == "white"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == ["heavy", "nlgp", "paper"]  # one entry per group, and the paper line
    plt.close(fig)


def test_effect_by_rung_draws_intervals_and_the_margin():
    pts = [{"label": "a", "group": "g", "values": [0.1, 0.2], "interval": (2.0, 1.2, 2.8)},
           {"label": "b", "group": "g", "values": [5.0], "interval": (5.0, -float("inf"), float("inf"))}]
    fig = plotting.effect_by_rung(pts, "effect", delta=1.0)
    ax = fig.axes[0]
    a, b = ax.containers
    assert a.lines[0].get_ydata()[0] == pytest.approx(2.0)       # the interval's mean, not the seeds'
    seg = a.lines[2][0].get_segments()[0]
    assert (seg[0][1], seg[1][1]) == (pytest.approx(1.2), pytest.approx(2.8))
    assert b.lines[2][0].get_segments()[0][0][1] == pytest.approx(5.0)  # one seed: no bar
    assert "±δ = 1" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)


def test_effect_vs_kurtosis_sorts_points_and_marks_gaussian():
    fig = plotting.effect_vs_kurtosis({"IMP": {"x": [11.7, 1.05, 3.0], "values": [[3, 5], [1, 1], [2, 2]]},
                                       "IMP (clone)": {"x": [11.7, 1.05, 3.0], "values": [[1], [1], [1]],
                                                       "clone": True}}, "det", hline=3)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    line = ax.containers[0].lines[0]
    assert list(line.get_xdata()) == [1.05, 3.0, 11.7] and list(line.get_ydata()) == [1, 2, 4]
    assert ax.containers[1].lines[0].get_linestyle() == "--"
    plt.close(fig)




def test_sparsity_axis_spreads_the_last_rounds():
    """x = log of the weights kept, decreasing, labelled with sparsity: rounds are evenly spaced."""
    sp = 1 - 0.7 ** np.arange(11)  # 0 .. 97.2 %
    values = np.random.default_rng(0).random((2, 11))
    fig = plotting.metric_vs_sparsity({Condition("imp"): {"sparsity": sp, "values": values}}, "y")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lo, hi = ax.get_xlim()
    assert lo > hi  # decreasing: sparsity grows to the right
    pos = ax.transData.transform(np.c_[1 - sp, np.ones(11)])[:, 0]
    steps = np.diff(pos)
    assert np.all(steps > 0) and np.allclose(steps, steps[0], rtol=1e-6)  # evenly spaced rounds
    # the rounds beyond 80 % sparsity take most of the width, not a fifth of it
    assert (pos[-1] - pos[np.argmax(sp >= 0.8)]) / (pos[-1] - pos[0]) > 0.4
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:4] == ["0", "50", "80", "90"] and "95" in labels
    assert "sparsity" in ax.get_xlabel()
    # Fig 3's width panel uses the same axis
    w = {"data": (np.arange(11.0), np.arange(11.0), np.arange(11.0))}
    f3 = plotting.clone_figure(np.zeros((4, 64)), np.zeros((4, 64)), (1, 8, 8), widths=w, sparsity=sp)
    assert f3.axes[-1].get_xscale() == "log" and f3.axes[-1].get_xlabel() == ax.get_xlabel()


def test_gallery_explains_the_numbers_over_the_masks():
    masks = np.random.default_rng(0).random((12, 64)) < 0.3
    fig = plotting.mask_gallery(masks, (1, 8, 8), n=4, title="IMP round 10")
    assert fig._suptitle.get_text().splitlines() == ["IMP round 10", plotting.COUNT_NOTE]
    assert [a.get_title() for a in fig.axes[:4]] == [str(int(masks[u].sum())) for u in
                                                      np.argsort(-masks.sum(1), kind="stable")[:4]]


def test_effect_axis_marks_delta_intervals_and_null_bands():
    from impkit import verdicts

    e = verdicts.judge([1.5, 2.0, 2.5], 1.0)
    one = verdicts.judge([0.3], 1.0)  # one seed: infinite interval
    undef = verdicts.judge([np.nan, np.nan], 1.0)
    nulls = {"null · shuffled labels": {"mean": 0.1, "lo": -0.4, "hi": 0.6, "verdict": "not reproduced"}}
    fig = plotting.effect_axis({"C3a": e, "one seed": one, "none": undef}, nulls, delta=1.0, unit="px")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["C3a", "one seed", "none", "null · shuffled labels"]
    lo, hi = ax.get_xlim()
    assert lo <= -1.0 and hi >= max(e.hi, 1.0) and np.isclose(-lo, hi)
    # ±δ marked by two vertical lines at exactly ±1
    vlines = sorted(float(line.get_xdata()[0]) for line in ax.lines if line.get_linestyle() == "--")
    assert vlines == [-1.0, 1.0]
    # the effect's interval drawn from lo to hi on its row (y = 0)
    bars = [line for line in ax.lines if len(line.get_xdata()) == 2 and line.get_linewidth() == 2]
    np.testing.assert_allclose(sorted(bars[0].get_xdata()), [e.lo, e.hi])
    # the null band: a rectangle from the null's lo to hi on the last row
    rects = [p for p in ax.patches if p.get_gid() == "null band"]
    assert len(rects) == 1 and np.isclose(rects[0].get_x(), -0.4) and np.isclose(rects[0].get_width(), 1.0)
    assert np.isclose(rects[0].get_y() + rects[0].get_height() / 2, -3)
    texts = [t.get_text() for t in ax.texts]
    assert "reproduced" in texts and "undefined" in texts and "no null runs recorded" not in texts


def test_effect_axis_without_nulls_says_so_and_rejects_bad_delta():
    from impkit import verdicts

    fig = plotting.effect_axis({"C4": verdicts.judge([0.2, 0.3], 0.1)}, {}, delta=0.1)
    ax = fig.axes[0]
    assert "no null runs recorded" in [t.get_text() for t in ax.texts]
    assert not [p for p in ax.patches if p.get_gid() == "null band"]
    with pytest.raises(ValueError):
        plotting.effect_axis({"C4": verdicts.judge([0.2, 0.3], 0.1)}, None, delta=0.0)


def test_paired_by_seed_draws_one_line_per_seed_and_the_means():
    fig = plotting.paired_by_seed([0.6, 0.8, np.nan], [0.5, 0.4, 0.3], ("on time", "shuffled"), "share",
                                  seeds=[0, 1, 2])
    ax = fig.axes[0]
    means = [line for line in ax.lines if line.get_gid() == "mean"]
    assert [float(m.get_ydata()[0]) for m in means] == pytest.approx([0.7, 0.4])
    assert len([line for line in ax.lines if line.get_gid() != "mean"]) == 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["on time", "shuffled"]
    with pytest.raises(ValueError):
        plotting.paired_by_seed([1.0], [1.0, 2.0])
