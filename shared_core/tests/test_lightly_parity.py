"""Loss values equal lightly 1.6.0's on the same seeded inputs.

Run as a script (``python shared_core/tests/test_lightly_parity.py``) to print the parity table.
"""

import pytest
import torch

from selfsup.core import objectives as obj

lightly_loss = pytest.importorskip("lightly.loss") if __name__ != "__main__" else __import__(
    "lightly.loss", fromlist=["loss"])

B, D = 32, 64


def _views(seed, b=B, d=D, scale=2.0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=gen) * scale, torch.randn(b, d, generator=gen) * scale


def _dino_pair():
    """Three steps of DINO (centre updated each step) at epochs 0, 4 and 20 of a 10-epoch warm-up."""
    kwargs = dict(warmup_teacher_temp=0.04, teacher_temp=0.07, warmup_teacher_temp_epochs=10,
                  student_temp=0.1, center_momentum=0.9)
    ours = obj.DINOLoss(out_dim=D, **kwargs)
    theirs = lightly_loss.DINOLoss(output_dim=D, **kwargs)
    ours_values, theirs_values = [], []
    for step, epoch in enumerate((0, 4, 20)):
        gen = torch.Generator().manual_seed(100 + step)
        student = [torch.randn(B, D, generator=gen) * 3 for _ in range(4)]
        teacher = [torch.randn(B, D, generator=gen) * 3 for _ in range(2)]
        ours_values.append(ours(student, teacher, epoch=epoch))
        theirs_values.append(theirs(teacher, student, epoch=epoch))
    return torch.stack(ours_values), torch.stack(theirs_values)


def parity_cases():
    """name -> (ours, lightly's) loss values on the same inputs."""
    z1, z2 = _views(0)
    return {
        "NTXentLoss(t=0.5)": (obj.nt_xent(z1, z2, 0.5), lightly_loss.NTXentLoss(0.5)(z1, z2)),
        "NTXentLoss(t=0.07)": (obj.nt_xent(z1, z2, 0.07), lightly_loss.NTXentLoss(0.07)(z1, z2)),
        "DCLLoss(t=0.1)": (obj.dcl(z1, z2, 0.1), lightly_loss.DCLLoss(0.1)(z1, z2)),
        "DCLWLoss(t=0.1, sigma=0.5)": (obj.dclw(z1, z2, 0.1, sigma=0.5),
                                       lightly_loss.DCLWLoss(0.1, sigma=0.5)(z1, z2)),
        "BarlowTwinsLoss(lambda=5e-3)": (obj.barlow_twins(z1, z2, 5e-3),
                                         lightly_loss.BarlowTwinsLoss(5e-3)(z1, z2)),
        "VICRegLoss()": (obj.vicreg(z1, z2), lightly_loss.VICRegLoss()(z1, z2)),
        "DINOLoss (3 steps, centre + temp schedule)": _dino_pair(),
        "NegativeCosineSimilarity()": (obj.negative_cosine(z1, z2),
                                       lightly_loss.NegativeCosineSimilarity()(z1, z2)),
    }


def test_loss_values_equal_lightly():
    for name, (ours, theirs) in parity_cases().items():
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6, msg=lambda m, n=name: f"{n}: {m}")


if __name__ == "__main__":
    print("| loss | selfsup | lightly 1.6.0 | max abs diff |\n|---|---|---|---|")
    for name, (ours, theirs) in parity_cases().items():
        fmt = lambda t: ", ".join(f"{v:.6f}" for v in t.reshape(-1).tolist())  # noqa: E731
        print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {float((ours - theirs).abs().max()):.2e} |")
