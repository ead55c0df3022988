"""Measurements of the paper: mask correlation and RF width, kurtosis, cavity scores, ICA vs PCA.

The main entry points are :func:`mask_correlation`, :func:`rf_width`, :func:`kurtosis` and :func:`cavity_scores`.
One module per concept:

* :mod:`~impkit.metrics.conventions`: mask layout, image shapes, the colour (``channels``) convention.
* :mod:`~impkit.metrics.correlation`: mask correlation S(d) (paper Eq. 1), pair counts N(d), partner counts X(d),
  the fit-free locality index.
* :mod:`~impkit.metrics.receptive_field`: RF width (detection, then a Poisson fit of a Gaussian peak), built on
  :mod:`~impkit.metrics.half_plane` (the displacements used), :mod:`~impkit.metrics.detection` (statistic,
  random-mask null, threshold) and :mod:`~impkit.metrics.poisson_fit` (the batched fit).
* :mod:`~impkit.metrics.summary`: summaries over units and over seeds.
* :mod:`~impkit.metrics.kurtosis`: kurtosis (paper Eq. 3) and the first-layer preactivation kurtosis (Eq. 4).
* :mod:`~impkit.metrics.cavity`: cavity scores (paper Eq. 5-6) and their grouping by fate.
* :mod:`~impkit.metrics.ica`: ICA vs PCA filters of image patches (paper App. A) and localisation scores.
"""
from impkit.metrics.cavity import (
    on_time_share,
    shuffled_on_time_share,
    cavity_by_fate_over_rounds,
    cavity_scores,
    cavity_scores_bruteforce,
    fate_round,
    group_by_fate,
)
from impkit.metrics.correlation import (
    locality_index,
    mask_correlation,
    normalized_correlation,
    pair_counts,
    partner_counts,
)
from impkit.metrics.detection import detection_threshold
from impkit.metrics.ica import (
    ICAPCAResult,
    best_window_energy,
    ica_pca,
    inverse_participation_ratio,
    localization,
)
from impkit.metrics.kurtosis import KurtosisAccumulator, PreactKurtosis, kurtosis, preactivation_kurtosis
from impkit.metrics.receptive_field import RFWidthResult, gaussian_fit_profiles, rf_width, rf_width_fit
from impkit.metrics.summary import summarize_over_seeds, summarize_over_units

__all__ = [
    "mask_correlation", "normalized_correlation", "locality_index", "pair_counts", "partner_counts",
    "rf_width", "rf_width_fit", "RFWidthResult", "detection_threshold", "gaussian_fit_profiles",
    "summarize_over_units", "summarize_over_seeds",
    "kurtosis", "preactivation_kurtosis", "PreactKurtosis", "KurtosisAccumulator",
    "cavity_scores", "cavity_scores_bruteforce", "fate_round", "group_by_fate", "cavity_by_fate_over_rounds",
    "on_time_share", "shuffled_on_time_share", "ica_pca", "ICAPCAResult", "localization", "best_window_energy", "inverse_participation_ratio",
]
