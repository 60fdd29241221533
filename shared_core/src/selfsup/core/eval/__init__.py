"""Evaluation of frozen features: weighted kNN, linear probe, RankMe."""

from selfsup.core.eval.knn import knn_accuracy, knn_predict
from selfsup.core.eval.linear_probe import ProbeResult, linear_probe
from selfsup.core.eval.rankme import rankme

__all__ = ["ProbeResult", "knn_accuracy", "knn_predict", "linear_probe", "rankme"]
