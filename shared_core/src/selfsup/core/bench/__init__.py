"""The core's benchmark suite (``selfsup bench core``): every method on scikit-learn's digits; and the
flags every suite shares."""

from selfsup.core.bench.suite import (
    add_pretraining_flags,
    bar_chart,
    checkpoint_folder,
    parse_methods,
    run_suite,
    suite_parser,
)

__all__ = ["add_pretraining_flags", "bar_chart", "checkpoint_folder", "parse_methods", "run_suite", "suite_parser"]
