"""Where the row kernels' blocks come from: plain masked loads, or tensor (TMA) descriptors for the warp-specialized
variants.

Triton 3.6 splits a loop marked ``tl.range(..., warp_specialize=True)`` on sm_90 into a producer warpgroup, which
issues the loads, and two consumer warpgroups, each with half of the program's rows (its own wgmma, exponentials and
reductions), meeting the producer at mbarriers only: no ``bar.sync`` across the consumers, so one's exponentials can
run while the other's matmul does (the overlap ``TWO_PER_SM`` seeks with two programs per multiprocessor, here with
the K tiles shared). Its pass needs every load of the kernel to go through a tensor descriptor, 4 warps per program
(it makes 12), and no reduction over the rows inside the loop (so not the one-pass forward's column sums), and fails
to compile otherwise; it divides blocks of 128 rows or more between the consumers, but gives a 64-row block whole to
both (``benchmarks/kernels/sm90_static.py`` compiles each variant for sm_90 without a GPU and checks the split). A
masked row past the matrix reads zeros either way: TMA fills what lies outside the descriptor's shape with zeros.

A descriptor asks 16-byte aligned base addresses and row strides and a contiguous last dimension
(:func:`tma_ready`), blocks of at most 256 elements per dimension and, made inside a kernel, a global scratch
allocator (:func:`ensure_allocator`).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

TMA_MAX_BLOCK = 256  # elements per dimension of a TMA block (box)


@triton.jit
def load_block(PTR, idx, idx_ok, offs_d, d_ok, stride):
    """Rows ``idx`` of a row-major ``(n, dim)`` matrix as an ``(len(idx), BLOCK_D)`` tile, zero outside."""
    return tl.load(PTR + idx[:, None] * stride + offs_d[None, :], mask=idx_ok[:, None] & d_ok[None, :], other=0.0)


@triton.jit
def matrix_source(PTR, n, dim, stride, BLOCK: tl.constexpr, BLOCK_D: tl.constexpr, TMA: tl.constexpr):
    """A row-major ``(n, dim)`` matrix read by blocks of ``BLOCK`` rows: the pointer, or with ``TMA`` a tensor
    descriptor of ``(BLOCK, BLOCK_D)`` blocks."""
    if TMA:  # one return statement: a compiled kernel generates the code after a static branch's return too
        source = tl.make_tensor_descriptor(PTR, shape=[n, dim], strides=[stride, 1], block_shape=[BLOCK, BLOCK_D])
    else:
        source = PTR
    return source


@triton.jit
def load_rows(SRC, first, idx, idx_ok, offs_d, d_ok, stride, TMA: tl.constexpr):
    """Rows ``idx`` (``first, first + 1, ...``) of a :func:`matrix_source` as a ``(len(idx), BLOCK_D)`` tile, zero
    outside the matrix."""
    if TMA:
        tile = SRC.load([first, 0])
    else:
        tile = load_block(SRC, idx, idx_ok, offs_d, d_ok, stride)
    return tile


@triton.jit
def vector_source(PTR, n, BLOCK: tl.constexpr, TMA: tl.constexpr):
    """A length-``n`` vector read by blocks of ``BLOCK``: the pointer, or with ``TMA`` a 1-D tensor descriptor."""
    if TMA:
        source = tl.make_tensor_descriptor(PTR, shape=[n], strides=[1], block_shape=[BLOCK])
    else:
        source = PTR
    return source


@triton.jit
def load_entries(SRC, first, idx, idx_ok, other, TMA: tl.constexpr):
    """Entries ``idx`` (``first, first + 1, ...``) of a :func:`vector_source`: ``other`` where ``idx_ok`` is false,
    or with ``TMA`` zero outside the vector."""
    if TMA:
        entries = SRC.load([first])
    else:
        entries = tl.load(SRC + idx, mask=idx_ok, other=other)
    return entries


def tma_ready(*tensors: torch.Tensor) -> bool:
    """Whether tensor descriptors can read every one of ``tensors`` (vectors or row-major matrices): the last
    dimension contiguous, the base address and every other stride a multiple of 16 bytes."""
    for t in tensors:
        if t.stride(-1) != 1 or t.data_ptr() % 16:
            return False
        if any(s * t.element_size() % 16 for s in t.stride()[:-1]):
            return False
    return True


def _scratch(size: int, alignment: int, stream: int | None) -> torch.Tensor:
    return torch.empty(size, dtype=torch.int8, device="cuda")


def ensure_allocator() -> None:
    """Kernels that make tensor descriptors take a little global scratch per launch from Triton's allocator: torch's,
    unless the caller set one."""
    from triton.runtime import _allocation

    if isinstance(_allocation._allocator.get(), _allocation.NullAllocator):
        triton.set_allocator(_scratch)
