"""Measurements of the paper (SPEC §3): mask correlation and RF width, kurtosis, cavity scores, ICA vs PCA."""
from impkit.metrics.locality import (
    RFWidthResult,
    gaussian_fit_profiles,
    mask_correlation,
    normalized_correlation,
    pair_counts,
    rf_width,
    rf_width_fit,
    summarize_over_seeds,
    summarize_over_units,
)
