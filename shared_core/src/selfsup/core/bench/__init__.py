"""The core's benchmark suite (``selfsup bench core``): every method on scikit-learn's digits."""
