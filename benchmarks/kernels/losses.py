"""The losses the kernel benchmarks time: the usual eager implementations and selfsup's fused kernels.

Shared by ``bench_kernels.py`` (GPU), ``cpu_bench.py`` and ``profile_contrastive.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.core import kernels
from selfsup.core import objectives as obj

TEMPERATURE = 0.07
STUDENT_TEMP, TEACHER_TEMP = 0.1, 0.04  # DINO's; the defaults of kernels.prototype_cross_entropy


def eager_symmetric_info_nce(q, k, temperature=TEMPERATURE):
    """The usual implementation (CLIP/open_clip style): full logits, cross-entropy both ways."""
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = (q @ k.T).float() / temperature
    labels = torch.arange(q.shape[0], device=q.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def fused_symmetric_info_nce(q, k, backend, temperature=TEMPERATURE):
    return kernels.info_nce(q, k, temperature, symmetric=True, backend=backend)


def eager_nt_xent(z1, z2, temperature=TEMPERATURE):
    """SimCLR's 2N form as usually written: the (2B, 2B) logits, the diagonal masked, cross-entropy."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T).float() / temperature
    logits.fill_diagonal_(float("-inf"))
    b = z1.shape[0]
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(logits, positives)


def fused_nt_xent(z1, z2, backend):
    return kernels.nt_xent(z1, z2, TEMPERATURE, backend=backend)


def eager_soft_head(h, w, ht, wt, center, st=STUDENT_TEMP, tt=TEACHER_TEMP):
    """DINO/iBOT head as usually written: student and teacher logits (S, V), soft cross-entropy."""
    s = (h @ w.T).float() / st
    t = ((ht @ wt.T).float() - center) / tt
    return -(torch.softmax(t, 1) * torch.log_softmax(s, 1)).sum(1).mean()


def eager_hard_head(h, w, labels):
    """Masked-token prediction as usually written: logits (S, V), cross-entropy against codes."""
    return F.cross_entropy((h @ w.T).float(), labels)


def fused_soft_head(h, w, ht, wt, center, backend):
    return kernels.prototype_cross_entropy(h, w, ht, wt, center=center, student_temp=STUDENT_TEMP,
                                           teacher_temp=TEACHER_TEMP, backend=backend)


def fused_hard_head(h, w, labels, backend):
    return kernels.linear_cross_entropy(h, w, labels, backend=backend)


def info_nce_reference(q, k):
    return obj.info_nce(q, k, TEMPERATURE, symmetric=True)


def nt_xent_reference(z1, z2):
    return obj.nt_xent(z1, z2, TEMPERATURE)
