"""On a Cora-like graph (sparse bag-of-words features, community edges), CCA-SSG pretraining must beat the
same GCN at random init under the suite's probe (C chosen on validation), averaged over two seeds."""

import torch

from selfsup.graph import build_encoder, build_method, embed_nodes, node_probe, pretrain_nodes, sbm_graph


def test_cca_ssg_beats_random_init_encoder():
    data = sbm_graph(num_blocks=4, block_size=100, topic_share=0.3, seed=0)
    masks = (data.train_mask, data.val_mask, data.test_mask)
    random_scores, ssl_scores = [], []
    for seed in range(2):
        torch.manual_seed(seed)
        encoder = build_encoder("cca_ssg", data.num_features, hidden=128)
        random_scores.append(node_probe(embed_nodes(encoder, data), data.y, *masks)["test"])
        pretrain_nodes(build_method("cca_ssg", encoder), data, epochs=50, lr=1e-3, seed=seed, progress=False)
        ssl_scores.append(node_probe(embed_nodes(encoder, data), data.y, *masks)["test"])
    random_mean, ssl_mean = sum(random_scores) / 2, sum(ssl_scores) / 2
    assert ssl_mean > random_mean + 0.05, (random_scores, ssl_scores)
