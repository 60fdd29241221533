"""The trunk behind two toy tokenizers: MAE and JEPA heads on any tokens, and trunk transfer."""

import pytest
import torch
from torch import nn

from selfsup.core.objectives import latent_prediction, masked_reconstruction, normalized_teacher_target
from selfsup.core.trunk import (
    EMATeacher,
    LatentPredictor,
    MAEDecoder,
    TokenBatch,
    Trunk,
    drop_masked,
    export_trunk,
    import_trunk,
    mae_predict,
    random_mask,
    sincos_grid,
)

DIM = 32


class PatchTokenizer(nn.Module):
    """8x8 images -> 4 patches of 4x4 pixels, with 2D sin-cos positions."""

    modality, dim = "image", DIM

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, DIM)
        self.register_buffer("pos", sincos_grid((2, 2), DIM)[None])

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        return images.reshape(-1, 2, 4, 2, 4).permute(0, 1, 3, 2, 4).reshape(-1, 4, 16)

    def __call__(self, images: torch.Tensor) -> TokenBatch:
        return TokenBatch(self.proj(self.patches(images)) + self.pos, modality=self.modality)


class SequenceTokenizer(nn.Module):
    """Variable-length sequences of 5 features (padded) -> tokens with 1D sin-cos positions."""

    modality, dim = "audio", DIM

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(5, DIM)
        self.register_buffer("pos", sincos_grid((12,), DIM)[None])

    def __call__(self, batch: tuple[torch.Tensor, torch.Tensor]) -> TokenBatch:
        x, lengths = batch
        padding = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
        return TokenBatch(self.proj(x) + self.pos[:, : x.shape[1]], padding, modality=self.modality)


def _trunk(**kw):
    return Trunk(**{"dim": DIM, "depth": 2, "heads": 4, "modalities": ["image"], **kw})


def test_mae_on_image_tokens_learns_and_reaches_every_part():
    torch.manual_seed(0)
    tokenizer, trunk = PatchTokenizer(), _trunk()
    decoder = MAEDecoder(DIM, out_dim=16, dim=24, depth=1, heads=4)
    images = torch.rand(16, 8, 8)
    params = [*tokenizer.parameters(), *trunk.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    losses = []
    for step in range(40):
        batch = tokenizer(images)
        mask = random_mask(16, 4, 0.5, generator=torch.Generator().manual_seed(step))
        kept, ids_restore = drop_masked(batch.tokens, mask)
        latent = trunk(batch.with_tokens(kept))
        pred = decoder(latent.tokens, ids_restore, sincos_grid((2, 2), 24)[None], num_prefix=latent.num_prefix)
        assert pred.shape == (16, 4, 16)
        if step == 0:  # the helper the domain MAEs use computes the same thing
            torch.testing.assert_close(mae_predict(batch, mask, trunk, decoder, sincos_grid((2, 2), 24)[None]), pred)
        loss = masked_reconstruction(pred, tokenizer.patches(images), mask, normalize_target=False)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (tokenizer.proj.weight,
                       trunk.blocks[0].attn.qkv.weight, decoder.pred.weight))
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_jepa_predictor_with_an_ema_teacher():
    torch.manual_seed(0)
    tokenizer, trunk = SequenceTokenizer(), _trunk(cls_token=False, modalities=[])
    teacher = EMATeacher(trunk)
    predictor = LatentPredictor(DIM, dim=24, depth=1, heads=4)
    x, lengths = torch.randn(3, 12, 5), torch.tensor([12, 9, 12])
    batch = tokenizer((x, lengths))
    target_ids = torch.tensor([8, 9, 10, 11])
    context = batch.with_tokens(batch.tokens[:, :8], padding_mask=batch.padding_mask[:, :8])
    targets_pos = sincos_grid((12,), 24)[target_ids][None]
    pred = predictor(trunk(context).tokens, targets_pos, context_padding=context.padding_mask)
    assert pred.shape == (3, 4, DIM)
    with torch.no_grad():
        full = teacher(batch, return_layers=[0, 1])
    target = normalized_teacher_target([layer[:, target_ids] for layer in full.layers])
    valid = ~batch.padding_mask[:, target_ids]
    loss = latent_prediction(pred, target, valid)
    loss.backward()
    assert trunk.blocks[0].attn.qkv.weight.grad is not None
    assert all(p.grad is None for p in teacher.parameters())
    before = teacher.module.blocks[0].mlp.fc1.weight.clone()
    with torch.no_grad():
        for p in trunk.parameters():
            p.add_(1.0)
    teacher.update(trunk, momentum=0.9)
    torch.testing.assert_close(teacher.module.blocks[0].mlp.fc1.weight, before + 0.1)


def test_a_trunk_trained_on_images_moves_to_sequences(tmp_path):
    torch.manual_seed(0)
    image_trunk = _trunk()
    with torch.no_grad():  # stand-in for training: weights far from any initialisation
        for p in image_trunk.parameters():
            p.add_(torch.randn_like(p))
    export_trunk(image_trunk, tmp_path / "trunk")

    torch.manual_seed(1)
    audio_tokenizer, audio_trunk = SequenceTokenizer(), _trunk(modalities=["audio"])
    tokenizer_before = audio_tokenizer.proj.weight.clone()
    audio_embed_before = audio_trunk.modality_embed["audio"].clone()
    import_trunk(tmp_path / "trunk", into=audio_trunk)
    for (name, a), (_, b) in zip(image_trunk.blocks.named_parameters(), audio_trunk.blocks.named_parameters(),
                                 strict=True):
        assert torch.equal(a, b), name
    assert torch.equal(audio_trunk.cls_token, image_trunk.cls_token)
    assert torch.equal(audio_tokenizer.proj.weight, tokenizer_before)  # the tokenizer is the new modality's own
    assert torch.equal(audio_trunk.modality_embed["audio"], audio_embed_before)
    out = audio_trunk(audio_tokenizer((torch.randn(2, 12, 5), torch.tensor([12, 7]))))
    assert out.tokens.shape == (2, 13, DIM) and torch.isfinite(out.tokens).all()
    fresh = import_trunk(tmp_path / "trunk")
    assert torch.equal(fresh.blocks[1].mlp.fc2.weight, image_trunk.blocks[1].mlp.fc2.weight)


def test_transfer_errors_name_the_difference(tmp_path):
    export_trunk(_trunk(), tmp_path / "trunk")
    with pytest.raises(ValueError, match=r"sizes differ \(dim: saved 32 vs target 48\)"):
        import_trunk(tmp_path / "trunk", into=Trunk(dim=48, depth=2, heads=4))
    with pytest.raises(ValueError, match="depth: saved 2 vs target 3"):
        import_trunk(tmp_path / "trunk", into=_trunk(depth=3))
    with pytest.raises(ValueError, match="prefix tokens differ"):
        import_trunk(tmp_path / "trunk", into=_trunk(num_registers=2))
    with pytest.raises(FileNotFoundError, match="export_trunk"):
        import_trunk(tmp_path / "nothing")
