"""The supervised GCN baseline with and without Kipf & Welling's row-normalised features, on the Planetoid public
splits (issue 46: the baseline must be at its reference paper's strength).

    python benchmarks/graph/gcn_feature_normalisation.py --root ../shared/data/graph/planetoid --seeds 5
        [--names Cora CiteSeer]
"""

from __future__ import annotations

import argparse
import statistics

from selfsup.graph.datasets import load_planetoid
from selfsup.graph.supervised import supervised_gcn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data/graph/planetoid")
    parser.add_argument("--names", nargs="+", default=["Cora"])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print("| graph | features | test accuracy (mean ± std over seeds) |\n|---|---|---|")
    for name in args.names:
        data = load_planetoid(args.root, name)
        for normalize in (False, True):
            accs = [supervised_gcn(data, data.train_mask, data.val_mask, data.test_mask, seed=s,
                                   normalize_features=normalize)["test"] for s in range(args.seeds)]
            label = "row-normalised (Kipf & Welling)" if normalize else "as read (binary bag of words)"
            print(f"| {name} | {label} | {statistics.mean(accs):.4f} ± {statistics.pstdev(accs):.4f} |", flush=True)


if __name__ == "__main__":
    main()
