"""Bad input gets a clear error naming the problem, never a NaN loss."""

import pytest
import torch

from selfsup.core import kernels
from selfsup.core import objectives as obj

PAIR_OBJECTIVES = {
    "info_nce": lambda a, b: obj.info_nce(a, b),
    "nt_xent": lambda a, b: obj.nt_xent(a, b),
    "dcl": lambda a, b: obj.dcl(a, b),
    "dclw": lambda a, b: obj.dclw(a, b),
    "barlow_twins": lambda a, b: obj.barlow_twins(a, b),
    "vicreg": lambda a, b: obj.vicreg(a, b),
    "negative_cosine": lambda a, b: obj.negative_cosine(a, b),
}
NEEDS_TWO_ROWS = ["info_nce", "nt_xent", "dcl", "dclw", "barlow_twins", "vicreg"]


@pytest.mark.parametrize("name", PAIR_OBJECTIVES)
def test_mismatched_shapes_are_named(name):
    with pytest.raises(ValueError, match=r"same shape.*\(8, 16\).*\(8, 12\)"):
        PAIR_OBJECTIVES[name](torch.randn(8, 16), torch.randn(8, 12))


@pytest.mark.parametrize("name", PAIR_OBJECTIVES)
def test_wrong_rank_is_named(name):
    with pytest.raises(ValueError, match=r"must be 2-D, got shape \(8, 2, 16\)"):
        PAIR_OBJECTIVES[name](torch.randn(8, 2, 16), torch.randn(8, 2, 16))


@pytest.mark.parametrize("name", PAIR_OBJECTIVES)
def test_integer_inputs_are_refused(name):
    with pytest.raises(TypeError, match="floating"):
        PAIR_OBJECTIVES[name](torch.ones(8, 4, dtype=torch.long), torch.ones(8, 4, dtype=torch.long))


@pytest.mark.parametrize("name", NEEDS_TWO_ROWS)
def test_batch_of_one_is_refused(name):
    with pytest.raises(ValueError, match=r"batch of at least 2.*got 1"):
        PAIR_OBJECTIVES[name](torch.randn(1, 16), torch.randn(1, 16))


EMPTY, QUEUE = torch.randn(0, 16), torch.randn(10, 16)
ONE_ROW_WOULD_DO = {
    "info_nce + queue": lambda: obj.info_nce(EMPTY, EMPTY, negatives=QUEUE),
    "negative_cosine": lambda: obj.negative_cosine(EMPTY, EMPTY),
    "kernels.info_nce + queue": lambda: kernels.info_nce(EMPTY, EMPTY, negatives=QUEUE, backend="chunked"),
}


def test_dino_refuses_an_empty_batch():
    with pytest.raises(ValueError, match=r"empty batch \(B = 0\)"):
        obj.DINOLoss(8)(torch.randn(2, 0, 8), torch.randn(2, 0, 8))


@pytest.mark.parametrize("name", ONE_ROW_WOULD_DO)
def test_an_empty_batch_is_refused_where_one_row_would_do(name):
    """With a queue one row has negatives, and negative_cosine needs none; no rows at all is a mean over nothing."""
    with pytest.raises(ValueError, match=r"batch of at least 1.*got 0"):
        ONE_ROW_WOULD_DO[name]()


def test_batch_of_one_with_a_queue_is_fine():
    loss = obj.info_nce(torch.randn(1, 16), torch.randn(1, 16), negatives=torch.randn(10, 16))
    assert torch.isfinite(loss)


@pytest.mark.parametrize("name", PAIR_OBJECTIVES)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_inputs_are_refused(name, bad):
    z2 = torch.randn(8, 16)
    z2[3, 5] = bad
    with pytest.raises(ValueError, match=r"z2|key|target.*non-finite"):
        PAIR_OBJECTIVES[name](torch.randn(8, 16), z2)


def test_non_positive_temperature_is_refused():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        obj.info_nce(torch.randn(4, 8), torch.randn(4, 8), temperature=0.0)


def test_supcon_checks_labels():
    with pytest.raises(ValueError, match=r"labels must have shape \(6,\)"):
        obj.supcon(torch.randn(6, 2, 8), torch.zeros(5, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        obj.supcon(torch.randn(6, 2, 8), torch.zeros(6))
    with pytest.raises(ValueError, match="no anchor has a positive"):
        obj.supcon(torch.randn(6, 8), torch.arange(6))


def test_dino_checks_views():
    with pytest.raises(ValueError, match="teacher has 3 views but student only 2"):
        obj.dino(torch.randn(2, 4, 10), torch.randn(3, 4, 10))
    with pytest.raises(ValueError, match="at least two views"):
        obj.dino(torch.randn(1, 4, 10), torch.randn(1, 4, 10))
    with pytest.raises(ValueError, match="same \\(B, K\\) shape"):
        obj.dino([torch.randn(4, 10), torch.randn(3, 10)], torch.randn(1, 4, 10))
    with pytest.raises(ValueError, match="out_dim=12"):
        obj.DINOLoss(out_dim=12)(torch.randn(2, 4, 10), torch.randn(2, 4, 10))


def test_masked_objectives_check_masks_and_targets():
    pred, target = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    with pytest.raises(TypeError, match="bool"):
        obj.masked_reconstruction(pred, target, torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 5\)"):
        obj.masked_reconstruction(pred, target, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="selects no token"):
        obj.masked_reconstruction(pred, target, torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 4\)"):
        obj.masked_token_cross_entropy(pred, torch.full((2, 5), 7))
    with pytest.raises(ValueError, match="hard targets must have shape"):
        obj.masked_token_cross_entropy(pred, torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="loss must be"):
        obj.latent_prediction(pred, target, loss="l3")


def test_modules_wrap_the_functions():
    z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    expected = obj.info_nce(z1, z2, 0.2, symmetric=True)
    assert torch.equal(obj.InfoNCELoss(0.2, symmetric=True, backend="reference")(z1, z2), expected)
    torch.testing.assert_close(obj.InfoNCELoss(0.2, symmetric=True)(z1, z2), expected)  # fused by default
    assert torch.equal(obj.NTXentLoss(0.3, backend="reference")(z1, z2), obj.nt_xent(z1, z2, 0.3))
    torch.testing.assert_close(obj.NTXentLoss(0.3)(z1, z2), obj.nt_xent(z1, z2, 0.3))
    assert torch.equal(obj.DCLWLoss()(z1, z2), obj.dclw(z1, z2))
    assert torch.equal(obj.BarlowTwinsLoss()(z1, z2), obj.barlow_twins(z1, z2))
    assert torch.equal(obj.VICRegLoss()(z1, z2), obj.vicreg(z1, z2))
    assert torch.equal(obj.NegativeCosineLoss()(z1, z2), obj.negative_cosine(z1, z2))


def test_negative_cosine_stops_the_target_gradient():
    p, z = torch.randn(4, 8, requires_grad=True), torch.randn(4, 8, requires_grad=True)
    obj.negative_cosine(p, z).backward()
    assert p.grad is not None and z.grad is None


def test_smooth_l1_latent_prediction_and_label_smoothing_match_torch():
    pred, target = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    expected = torch.nn.functional.smooth_l1_loss(pred, target, beta=0.5)
    torch.testing.assert_close(obj.latent_prediction(pred, target, loss="smooth_l1", beta=0.5), expected)
    codes = torch.randint(0, 4, (2, 5))
    expected = torch.nn.functional.cross_entropy(pred.flatten(0, 1), codes.flatten(), label_smoothing=0.1)
    torch.testing.assert_close(obj.masked_token_cross_entropy(pred, codes, label_smoothing=0.1), expected)
