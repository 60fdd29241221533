import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def sbm():
    from selfsup.graph.datasets import sbm_graph

    return sbm_graph(num_blocks=4, block_size=50, features="gaussian", feature_dim=16, p_in=0.06, seed=0)
