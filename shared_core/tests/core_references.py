"""Independent float64 references for the objectives: explicit loops, no shared code with the library.

Every function takes float64 tensors (gradients flow through them) and mirrors the paper's
formula term by term.
"""

from __future__ import annotations

import torch


def _unit(x):
    return x / torch.sqrt((x * x).sum(dim=1, keepdim=True))


def _lse(values):
    m = max(float(v.detach()) for v in values)
    return m + torch.log(sum(torch.exp(v - m) for v in values))


def info_nce(q, k, t, symmetric=False, negatives=None):
    def direction(a, b):
        terms = []
        for i in range(a.shape[0]):
            cands = [a[i] @ b[j] / t for j in range(b.shape[0])]
            if negatives is not None:
                cands += [a[i] @ n / t for n in _unit(negatives)]
            terms.append(-(a[i] @ b[i]) / t + _lse(cands))
        return sum(terms) / len(terms)

    q, k = _unit(q), _unit(k)
    loss = direction(q, k)
    return 0.5 * (loss + direction(k, q)) if symmetric else loss


def nt_xent(z1, z2, t):
    z = _unit(torch.cat([z1, z2]))
    n2, b = z.shape[0], z1.shape[0]
    terms = []
    for i in range(n2):
        pos = (i + b) % n2
        cands = [z[i] @ z[j] / t for j in range(n2) if j != i]
        terms.append(-(z[i] @ z[pos]) / t + _lse(cands))
    return sum(terms) / n2


def dcl(z1, z2, t, sigma=None):
    z1, z2 = _unit(z1), _unit(z2)
    b = z1.shape[0]
    pos = [(z1[i] @ z2[i]) for i in range(b)]
    if sigma is None:
        w = [1.0] * b
    else:
        e = [torch.exp(p.detach() / sigma) for p in pos]
        w = [2 - b * ei / sum(e) for ei in e]

    def direction(a, c):
        terms = []
        for i in range(b):
            cands = [a[i] @ a[j] / t for j in range(b) if j != i]
            cands += [a[i] @ c[j] / t for j in range(b) if j != i]
            terms.append(-pos[i] / t * w[i] + _lse(cands))
        return sum(terms) / b

    return 0.5 * (direction(z1, z2) + direction(z2, z1))


def supcon(features, labels, t):
    b, v, _ = features.shape
    z = [_unit(features[:, j]) for j in range(v)]
    items = [(z[j][i], int(labels[i])) for j in range(v) for i in range(b)]
    terms = []
    for a, (za, la) in enumerate(items):
        others = [(x, lx) for c, (x, lx) in enumerate(items) if c != a]
        lse = _lse([za @ x / t for x, _ in others])
        pos = [za @ x / t - lse for x, lx in others if lx == la]
        if pos:
            terms.append(-sum(pos) / len(pos))
    return sum(terms) / len(terms)


def barlow_twins(z1, z2, lambd, eps=1e-5):
    n, d = z1.shape

    def standardize(z):
        out = torch.empty_like(z)
        for f in range(d):
            col = z[:, f]
            mean = col.sum() / n
            var = ((col - mean) ** 2).sum() / n
            out[:, f] = (col - mean) / torch.sqrt(var + eps)
        return out

    a, b = standardize(z1), standardize(z2)
    loss = 0
    for i in range(d):
        for j in range(d):
            c = (a[:, i] * b[:, j]).sum() / n
            loss = loss + ((1 - c) ** 2 if i == j else lambd * c**2)
    return loss


def vicreg(z1, z2, sim=25.0, var=25.0, cov=1.0, eps=1e-4):
    n, d = z1.shape
    inv = ((z1 - z2) ** 2).sum() / (n * d)

    def var_term(z):
        total = 0
        for f in range(d):
            col = z[:, f]
            std = torch.sqrt(((col - col.mean()) ** 2).sum() / (n - 1) + eps)
            total = total + torch.clamp(1 - std, min=0)
        return total / d

    def cov_term(z):
        zc = z - z.mean(dim=0)
        total = 0
        for i in range(d):
            for j in range(d):
                if i != j:
                    total = total + ((zc[:, i] * zc[:, j]).sum() / (n - 1)) ** 2
        return total / d

    return sim * inv + var * 0.5 * (var_term(z1) + var_term(z2)) + cov * (cov_term(z1) + cov_term(z2))


def negative_cosine(p, z):
    cos = [(p[i] @ z[i]) / torch.sqrt((p[i] @ p[i]) * (z[i] @ z[i])) for i in range(p.shape[0])]
    return -sum(cos) / len(cos)


def _log_softmax(x):
    return x - _lse(list(x))


def dino(student, teacher, center, st, tt):
    terms = []
    for ti in range(teacher.shape[0]):
        for si in range(student.shape[0]):
            if ti == si:
                continue
            for b in range(student.shape[1]):
                tl = (teacher[ti, b] - center) / tt
                p = torch.exp(tl - _lse(list(tl)))
                terms.append(-(p * _log_softmax(student[si, b] / st)).sum())
    return sum(terms) / len(terms)


def masked_reconstruction(pred, target, mask, normalize=True, eps=1e-6):
    terms = []
    for b in range(pred.shape[0]):
        for n in range(pred.shape[1]):
            if mask is not None and not mask[b, n]:
                continue
            y = target[b, n]
            if normalize:
                p = y.numel()
                mean = y.sum() / p
                y = (y - mean) / torch.sqrt(((y - mean) ** 2).sum() / (p - 1) + eps)
            terms.append(((pred[b, n] - y) ** 2).sum() / y.numel())
    return sum(terms) / len(terms)


def masked_token_ce(logits, targets, mask):
    terms = []
    for b in range(logits.shape[0]):
        for n in range(logits.shape[1]):
            if mask is not None and not mask[b, n]:
                continue
            logp = _log_softmax(logits[b, n])
            if targets.dtype.is_floating_point:
                terms.append(-(targets[b, n] * logp).sum())
            else:
                terms.append(-logp[int(targets[b, n])])
    return sum(terms) / len(terms)


def latent_prediction(pred, layers, mask, eps=1e-5):
    """MSE at masked tokens onto the average of per-token layer-normalised teacher layers."""
    k, d = len(layers), pred.shape[-1]
    terms = []
    for b in range(pred.shape[0]):
        for n in range(pred.shape[1]):
            if mask is not None and not mask[b, n]:
                continue
            target = 0
            for layer in layers:
                x = layer[b, n]
                mean = x.sum() / d
                target = target + (x - mean) / torch.sqrt(((x - mean) ** 2).sum() / d + eps)
            terms.append(((pred[b, n] - target / k) ** 2).sum() / d)
    return sum(terms) / len(terms)
