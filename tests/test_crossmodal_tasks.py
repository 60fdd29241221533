"""The domain packages' cross-modal tasks fit together: one trunk size, a joint batch of two modalities
trains the shared trunk, and each domain's probes score a transferred encoder."""

import math

import pytest
import torch
from torch.utils.data import Subset, default_collate

pytest.importorskip("selfsup.vision")
pytest.importorskip("selfsup.audio")

from selfsup.core import registry
from selfsup.core.bench.crossmodal import _with_trunk
from selfsup.core.bench.transfer import JointMethod, PairedDataset, share_trunk


@pytest.fixture(scope="module")
def tasks():
    return {d: registry.get("transfer", d)(preset="smoke", data_root=None, seed=0) for d in ("vision", "audio")}


def test_image_trunk_moves_into_the_audio_encoder_and_is_scored(tasks):
    torch.manual_seed(0)
    image, audio = tasks["vision"].make_encoder(), tasks["audio"].make_encoder()
    assert image.trunk.config.shape() == audio.trunk.config.shape()
    _with_trunk(audio, {"config": image.trunk.config.shape(), "state": image.trunk.state_dict()})
    torch.testing.assert_close(audio.trunk.blocks[-1].attn.qkv.weight, image.trunk.blocks[-1].attn.qkv.weight)
    scores = tasks["audio"].evaluate(audio, torch.device("cpu"))
    assert set(tasks["audio"].metrics) <= set(scores)
    assert all(0.0 <= scores[m] <= 1.0 for m in tasks["audio"].metrics)


def test_joint_batch_of_images_and_spectrograms_trains_the_shared_trunk(tasks):
    torch.manual_seed(0)
    encoders = {d: t.make_encoder() for d, t in tasks.items()}
    trunk = share_trunk(list(encoders.values()))
    method = JointMethod({d: tasks[d].make_method(e) for d, e in encoders.items()})
    pairs = PairedDataset(Subset(tasks["vision"].train_set, range(8)), Subset(tasks["audio"].train_set, range(4)))
    out = method(default_collate([pairs[i] for i in range(8)]))
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and set(out) == {"loss", "vision_loss", "audio_loss"}
    assert out["loss"].item() == pytest.approx((out["vision_loss"] + out["audio_loss"]).item(), rel=1e-5)
    assert trunk.modality_embed["image"].grad.abs().sum() > 0 and trunk.modality_embed["audio"].grad.abs().sum() > 0


@pytest.mark.parametrize("domain", ["medical", "tabular"])
def test_image_trunk_moves_into_volume_and_table_encoders_and_trains_jointly(tasks, domain):
    pytest.importorskip(f"selfsup.{domain}")
    target = registry.get("transfer", domain)(preset="smoke", data_root=None, seed=0)
    torch.manual_seed(0)
    image, encoder = tasks["vision"].make_encoder(), target.make_encoder()
    assert encoder.trunk.config.shape() == image.trunk.config.shape()
    _with_trunk(encoder, {"config": image.trunk.config.shape(), "state": image.trunk.state_dict()})
    torch.testing.assert_close(encoder.trunk.blocks[0].mlp.fc1.weight, image.trunk.blocks[0].mlp.fc1.weight)
    scores = target.evaluate(encoder, torch.device("cpu"))
    assert set(target.metrics) <= set(scores) and all(map(math.isfinite, scores.values()))
    # joint: one image batch + one batch of the target's own items through its collate function
    encoders = {"vision": tasks["vision"].make_encoder(), domain: target.make_encoder()}
    trunk = share_trunk(list(encoders.values()))
    method = JointMethod({"vision": tasks["vision"].make_method(encoders["vision"]),
                          domain: target.make_method(encoders[domain])})
    pairs = PairedDataset(Subset(tasks["vision"].train_set, range(4)), Subset(target.train_set, range(2)))
    collate = PairedDataset.collate_with(None, target.collate_fn)
    out = method(collate([pairs[i] for i in range(4)]))
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and set(out) == {"loss", "vision_loss", f"{domain}_loss"}
    assert trunk.modality_embed[encoders[domain].tokenizer.modality].grad.abs().sum() > 0
    torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.1).step()
    before = [p.clone() for p in method.parameters() if not p.requires_grad]
    method.update_teacher(0.5)  # T-JEPA's EMA teacher (tables) moves; methods without a teacher are skipped
    after = [p for p in method.parameters() if not p.requires_grad]
    assert (domain == "tabular") == any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
