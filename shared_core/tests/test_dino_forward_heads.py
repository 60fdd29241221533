"""DINOLoss.forward_heads (the loss from the last layer's inputs and prototypes, through the fused prototype head)
equals DINOLoss.forward on the logits: loss, gradients and the centre's update."""

import pytest
import torch

from selfsup.core import objectives as obj


def _pair_of_losses(**kwargs):
    a, b = obj.DINOLoss(30, **kwargs), obj.DINOLoss(30, **kwargs)
    start = torch.randn(30, generator=torch.Generator().manual_seed(1))
    a.center.copy_(start)
    b.center.copy_(start)
    return a, b


@pytest.mark.parametrize("views, epoch", [((4, 2), 1), ((2, 2), None), ((3, 1), 5)])
def test_forward_heads_equals_forward_on_the_logits(views, epoch):
    gen = torch.Generator().manual_seed(sum(views))
    n_student, n_teacher = views
    hs = torch.nn.functional.normalize(torch.randn(n_student, 7, 12, generator=gen), dim=-1)
    ht = torch.nn.functional.normalize(torch.randn(n_teacher, 7, 12, generator=gen), dim=-1)
    w, wt = torch.randn(30, 12, generator=gen), torch.randn(30, 12, generator=gen)
    on_logits, on_heads = _pair_of_losses(warmup_teacher_temp=0.02, warmup_teacher_temp_epochs=3, teacher_temp=0.05)

    hs1, w1 = hs.clone().requires_grad_(True), w.clone().requires_grad_(True)
    expected = on_logits(hs1 @ w1.T, ht @ wt.T, epoch=epoch)
    expected.backward()
    hs2, w2 = hs.clone().requires_grad_(True), w.clone().requires_grad_(True)
    got = on_heads.forward_heads(hs2, w2, ht, wt, epoch=epoch, backend="chunked")
    got.backward()

    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(hs2.grad, hs1.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(w2.grad, w1.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(on_heads.center, on_logits.center, rtol=1e-5, atol=1e-6)
    assert not torch.equal(on_heads.center, torch.randn(30, generator=torch.Generator().manual_seed(1)))


def test_forward_heads_names_bad_shapes():
    loss = obj.DINOLoss(30)
    hs, ht, w = torch.randn(3, 5, 8), torch.randn(2, 5, 8), torch.randn(30, 8)
    with pytest.raises(ValueError, match=r"weight and teacher_weight must be \(K, H\) = \(30, 8\)"):
        loss.forward_heads(hs, torch.randn(20, 8), ht, w)
    with pytest.raises(ValueError, match="differ from teacher_hidden's"):
        loss.forward_heads(hs, w, torch.randn(2, 5, 9), w)
    with pytest.raises(ValueError, match=r"at least two views in total .* got 1 student_hidden and 1 teacher_hidden"):
        loss.forward_heads(hs[:1], w, ht[:1], w)
    with pytest.raises(ValueError, match="teacher_hidden has 2 views but student_hidden only 1"):
        loss.forward_heads(hs[:1], w, ht, w)
    with pytest.raises(ValueError, match=r"at least two views in total .* got 3 student_hidden and 0 teacher_hidden"):
        loss.forward_heads(hs, w, ht[:0], w)
