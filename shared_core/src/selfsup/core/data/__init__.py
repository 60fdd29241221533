"""Datasets of the core: scikit-learn's digits (embedded, no download) as two-view samples."""

from selfsup.core.data.digits import DigitsViews, augment_digit

__all__ = ["DigitsViews", "augment_digit"]
