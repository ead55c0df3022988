"""Measurements of the paper (SPEC §3): mask correlation and RF width, kurtosis, cavity scores, ICA vs PCA.

Public entry points (SPEC §7): :func:`mask_correlation`, :func:`rf_width`, :func:`kurtosis`, :func:`cavity_scores`.
"""
from impkit.metrics.cavity import (
    cavity_by_fate_over_rounds,
    cavity_scores,
    cavity_scores_bruteforce,
    fate_round,
    group_by_fate,
)
from impkit.metrics.ica import (
    ICAPCAResult,
    best_window_energy,
    ica_pca,
    inverse_participation_ratio,
    localization,
)
from impkit.metrics.kurtosis import KurtosisAccumulator, PreactKurtosis, kurtosis, preactivation_kurtosis
from impkit.metrics.locality import (
    RFWidthResult,
    gaussian_fit_profiles,
    locality_index,
    mask_correlation,
    normalized_correlation,
    pair_counts,
    rf_width,
    rf_width_fit,
    summarize_over_seeds,
    summarize_over_units,
)

__all__ = [
    "mask_correlation", "normalized_correlation", "locality_index", "pair_counts", "rf_width", "rf_width_fit", "RFWidthResult",
    "gaussian_fit_profiles", "summarize_over_units", "summarize_over_seeds",
    "kurtosis", "preactivation_kurtosis", "PreactKurtosis", "KurtosisAccumulator",
    "cavity_scores", "cavity_scores_bruteforce", "fate_round", "group_by_fate", "cavity_by_fate_over_rounds",
    "ica_pca", "ICAPCAResult", "localization", "best_window_energy", "inverse_participation_ratio",
]
