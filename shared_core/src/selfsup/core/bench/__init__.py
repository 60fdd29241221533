"""The core's benchmark suite (``selfsup bench core``): every method on scikit-learn's digits; and the
flags every suite shares."""

from selfsup.core.bench.suite import suite_parser

__all__ = ["suite_parser"]
