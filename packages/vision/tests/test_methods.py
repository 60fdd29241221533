"""Every method trains a step on uint8 batches; masking bookkeeping; SSL beats a random encoder on digits."""

import pytest
import torch

from selfsup.core.eval import knn_accuracy
from selfsup.core.train import TrainConfig, Trainer
from selfsup.core.trunk import drop_masked, random_mask
from selfsup.vision import DINO, MAE, ImageDataset, build_encoder, build_method, load_digits_images, prepare_images
from selfsup.vision.augment import set_normalization
from selfsup.vision.build import METHODS, VIT_METHODS
from selfsup.vision.methods._patches import masked_indices, patchify, unpatchify


@pytest.mark.parametrize("name", list(METHODS))
def test_method_step_trains_the_encoder(name):
    torch.manual_seed(0)
    encoder = build_encoder("vit_mini_patch4" if name in VIT_METHODS else "resnet_mini")
    method = build_method(name, encoder)
    batch = {"image": torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8), "label": torch.zeros(8)}
    out = method(batch)
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = [p.grad for p in encoder.parameters() if p.requires_grad]
    assert any(g is not None and float(g.abs().sum()) > 0 for g in grads)
    if hasattr(method, "update_teacher"):
        method.update_teacher(0.5)


def test_methods_accept_ready_made_views():
    torch.manual_seed(0)
    method = build_method("simclr", build_encoder("resnet_mini"))
    views = [torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)]
    assert torch.isfinite(method({"views": views})["loss"])


def test_masked_methods_need_a_vit_and_a_batch():
    with pytest.raises(TypeError, match="VisionTransformer"):
        MAE(build_encoder("resnet_mini"))
    method = build_method("mae", build_encoder("vit_mini_patch4"))
    with pytest.raises(ValueError, match=r"\{'image': \(B, C, H, W\) tensor\}"):
        method({"image": torch.zeros(3, 32, 32, dtype=torch.uint8)})


def test_dino_runs_global_and_local_crops():
    torch.manual_seed(0)
    dino = DINO(build_encoder("resnet_mini"), num_local=3, out_dim=64, hidden_dim=32)
    seen = []
    dino.encoder.register_forward_hook(lambda module, inputs, output: seen.append(tuple(inputs[0].shape)))
    dino({"image": torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)})
    assert seen == [(8, 3, 32, 32), (12, 3, 16, 16)]  # two globals together, three locals together


def test_dino_fused_head_gives_the_same_loss_gradients_and_centre():
    """fused_head=True takes the loss from the bottleneck features and prototypes (no logits stored): the same
    values as the loss on the logits, for the same weights and views."""
    torch.manual_seed(0)
    plain = DINO(build_encoder("resnet_mini"), num_local=2, out_dim=64, hidden_dim=32)
    fused = DINO(build_encoder("resnet_mini"), num_local=2, out_dim=64, hidden_dim=32, fused_head=True)
    fused.load_state_dict(plain.state_dict())
    batch = {"image": torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)}
    losses = []
    for method in (plain, fused):
        torch.manual_seed(1)  # the same random crops
        loss = method(batch)["loss"]
        loss.backward()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused.dino.center, plain.dino.center, rtol=1e-5, atol=1e-6)
    for (name, a), b in zip(plain.named_parameters(), fused.parameters(), strict=True):
        if a.grad is not None or b.grad is not None:
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert fused.head.last.parametrizations.weight.original1.grad.abs().sum() > 0


def test_patchify_and_masked_indices():
    images = torch.randn(2, 3, 8, 8)
    patches = patchify(images, 4)
    assert patches.shape == (2, 4, 48)
    torch.testing.assert_close(patches[0, 1], images[0, :, 0:4, 4:8].permute(1, 2, 0).reshape(-1))
    torch.testing.assert_close(unpatchify(patches, 4, 3, (2, 2)), images)
    tokens = torch.randn(2, 10, 5)
    mask = random_mask(2, 10, 0.6)
    kept, _ = drop_masked(tokens, mask)
    visible, hidden = masked_indices(mask)
    torch.testing.assert_close(torch.gather(tokens, 1, visible[..., None].expand(-1, -1, 5)), kept)
    assert bool(mask.gather(1, hidden).all()) and not bool(mask.gather(1, visible).any())


def test_simclr_beats_the_random_encoder_on_digits(tmp_path):
    train, test = load_digits_images("train"), load_digits_images("test")
    mean, std = train.channel_stats()

    def knn(encoder):
        encoder.eval()
        with torch.no_grad():
            f_train = encoder(prepare_images(train.images, mean, std))
            f_test = encoder(prepare_images(test.images, mean, std))
        return knn_accuracy(f_train, train.labels, f_test, test.labels, k=20, temperature=0.1)

    torch.manual_seed(0)
    encoder = build_encoder("resnet_mini", in_chans=1)
    random_knn = knn(encoder)
    method = set_normalization(build_method("simclr", encoder, hidden_dim=256), mean, std)
    assert all(a.config.mean == mean for a in method.augment.augments)
    config = TrainConfig(output_dir=str(tmp_path), epochs=4, batch_size=128, lr=2e-3, weight_decay=1e-4,
                         warmup_steps=4, progress=False)
    Trainer(method, ImageDataset(train), config).fit()
    trained_knn = knn(encoder)
    assert trained_knn > random_knn + 0.04, (random_knn, trained_knn)
