"""The warp-specialized row kernels ("rows-ws", "gemm-ws"): loads through tensor descriptors, run here by Triton's
interpreter against the plain row kernels and float64 (the losses' own tests run them as backends too); when they
are candidates; their launchers. That they compile into producer and consumer warpgroups for sm_90 is
``tests/test_kernels_compile_sm90.py``'s."""

import contextvars
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest
import selfsup_kernels_experimental as kernels

pytestmark = pytest.mark.skipif(not kernels.triton_available(), reason="needs triton")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture
def T():
    from selfsup_kernels_experimental import _triton_lse

    return _triton_lse


def _problem(seed, b=70, n=300, d=40, with_exclude=True):
    gen = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(b, d, generator=gen), dim=1).to(DEVICE)
    k = torch.nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1).to(DEVICE)
    exclude = torch.randperm(n, generator=gen)[:b].to(torch.int32).to(DEVICE) if with_exclude else None
    return q, k, exclude, torch.randn(b, generator=gen).to(DEVICE), torch.randn(n, generator=gen).to(DEVICE)


@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("with_exclude", [False, True])
def test_warp_specialized_kernels_equal_the_row_kernels(poison_outputs, monkeypatch, T, direct, with_exclude):
    """Forward (row and column LSE) and both backwards, the gemm one over three chunks of 128 keys (the last
    partial: launches that add into dQ), on 70 x 300 x 40 (partial row blocks, 40 features of a 64-wide block: what
    lies past the matrix is read as zeros through the descriptors): the same values as the plain row kernels."""
    poison_outputs(T)
    monkeypatch.setattr(T, "GEMM_CHUNK_BYTES", 1)  # the smallest chunk: 128 columns
    q, k, exclude, g_r, g_c = _problem(5 + 2 * direct + with_exclude, with_exclude=with_exclude)
    scale = 10.0
    lse_r, lse_c = T.lse_forward(q, k, exclude, scale, True, "rows", direct=direct)
    ws_r, ws_c = T.lse_forward(q, k, exclude, scale, True, "rows-ws", direct=direct)
    torch.testing.assert_close(ws_r, lse_r, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ws_c, lse_c, rtol=1e-6, atol=1e-6)
    rows = T.lse_backward(q, k, exclude, scale, lse_r, lse_c, g_r, g_c, "rows", direct=direct)
    for algorithm in ("rows-ws", "gemm-ws"):
        got = T.lse_backward(q, k, exclude, scale, lse_r, lse_c, g_r, g_c, algorithm, direct=direct)
        for mine, ref in zip(got, rows, strict=True):
            torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-6)


def test_the_warp_specialized_row_kernel_leaves_out_excluded_columns_as_float64_does(T):
    q, k, exclude, _, _ = _problem(3, b=50, n=50, d=24)
    exclude[::7] = -1  # some rows exclude nothing
    s = (q.double() @ k.double().T) * 10.0
    hit = exclude >= 0
    s[torch.arange(50, device=DEVICE)[hit], exclude[hit].long()] = float("-inf")
    got = T._row_lse(q, k, exclude, 10.0, warp_specialize=True)
    torch.testing.assert_close(got.double(), s.logsumexp(1), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="row LSE only"):
        T._row_lse(q, k, None, 10.0, colsum=torch.zeros(50, device=DEVICE), direct=True, warp_specialize=True)


def test_warp_specialized_algorithms_are_candidates_only_where_named_or_turned_on(monkeypatch, T):
    q, k, exclude, _, _ = _problem(1, d=32)
    monkeypatch.delenv("SELFSUP_TRITON_WARP_SPECIALIZE", raising=False)
    assert T.chosen_algorithm("warp_specialize") == T.WARP_SPECIALIZE == "off"
    assert T.warp_specializable("rows-ws", q, k, exclude) and T.warp_specializable("gemm-ws", q, k, None)
    assert not T.warp_specializable("auto", q, k, exclude) and not T.warp_specializable("rows", q, k)
    monkeypatch.setenv("SELFSUP_TRITON_WARP_SPECIALIZE", "auto")
    assert T.warp_specializable("auto", q, k, exclude)
    wide = torch.randn(8, 300, device=DEVICE)  # a 512-wide feature block: more than a TMA block holds
    assert not T.warp_specializable("rows-ws", wide, wide)
    odd = torch.randn(9, 6, device=DEVICE)[1:]  # rows of 24 bytes
    assert not T.warp_specializable("rows-ws", odd, odd)

    monkeypatch.setenv("SELFSUP_TRITON_WARP_SPECIALIZE", "on")
    with pytest.raises(ValueError, match="SELFSUP_TRITON_WARP_SPECIALIZE must be 'off' or 'auto', got 'on'"):
        T.chosen_algorithm("warp_specialize")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU tensor outside the interpreter")
def test_cpu_tensors_outside_the_interpreter_are_not_warp_specializable(monkeypatch, T):
    q = torch.randn(8, 32)
    monkeypatch.setattr(T, "_interpreting", lambda: False)
    assert not T.warp_specializable("rows-ws", q, q)


def test_on_a_gpu_only_half_operands_are_warp_specializable(monkeypatch, T):
    """Compiled for sm_90, fp32 operands (tf32) leave the loop unsplit and the program spilling; bf16 and fp16 split."""
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))

    class OnGpu(torch.Tensor):  # a CPU tensor that says it lives on a GPU (the check reads the device type only)
        @property
        def device(self):
            return torch.device("cuda", 0)

    def on_gpu(dtype):
        return torch.randn(8, 64).to(dtype).as_subclass(OnGpu)

    for dtype in (torch.bfloat16, torch.float16):
        assert T.warp_specializable("rows-ws", on_gpu(dtype))
    assert not T.warp_specializable("rows-ws", on_gpu(torch.float32))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    assert not T.warp_specializable("rows-ws", on_gpu(torch.bfloat16))  # no TMA before sm_90


@pytest.mark.parametrize("setting", ["off", "auto"])
def test_auto_times_the_warp_specialized_algorithms_only_when_turned_on(monkeypatch, T, setting):
    from selfsup_kernels_experimental import _algorithm_tuner

    monkeypatch.setenv("SELFSUP_TRITON_WARP_SPECIALIZE", setting)
    candidates = {}

    def fastest(stage, key, runs, device, timer=None):
        candidates[stage] = list(runs)
        return next(iter(runs))

    monkeypatch.setattr(_algorithm_tuner, "fastest", fastest)
    q, k, exclude, g_r, g_c = _problem(2, d=32)
    T.lse_forward(q, k, exclude, 5.0, False, "auto")  # the row LSE alone: the row kernel, or warp-specialized
    row_only = candidates.pop("forward", ["rows"])  # one candidate: no choice to make
    lse_r, lse_c = T.lse_forward(q, k, exclude, 5.0, True, "auto")
    T.lse_backward(q, k, exclude, 5.0, lse_r, lse_c, g_r, g_c, "auto")
    extra = {"off": ([], []), "auto": (["rows-ws"], ["rows-ws", "gemm-ws"])}[setting]
    assert row_only == ["rows", *extra[0]]
    assert candidates == {"forward": ["rows", "fused", *extra[0]], "backward": ["rows", "fused", "gemm", *extra[1]]}


def test_a_warp_specialized_algorithm_named_for_a_problem_it_cannot_take_is_an_error(monkeypatch, T):
    q = torch.nn.functional.normalize(torch.randn(16, 300, device=DEVICE), dim=1)
    with pytest.raises(ValueError, match=r"the warp-specialized forward 'rows-ws' needs .* feature dims up to 256"):
        T.lse_forward(q, q, None, 5.0, True, "rows-ws")
    monkeypatch.setenv("SELFSUP_TRITON_BACKWARD", "gemm-ws")
    lse = torch.zeros(16, device=DEVICE)
    with pytest.raises(ValueError, match="the warp-specialized backward 'gemm-ws'"):
        T.lse_backward(q, q, None, 5.0, lse, lse, lse, lse)


def test_tensor_descriptors_need_aligned_rows_and_a_contiguous_last_dimension():
    from selfsup_kernels_experimental._triton_tma import tma_ready

    base = torch.randn(64, 32)
    assert tma_ready(base, base[8:], base[:, :16], torch.zeros(40, dtype=torch.int32),
                     torch.randn(8, 16).bfloat16())
    assert not tma_ready(base.t())  # strided last dimension
    assert not tma_ready(torch.randn(65)[1:])  # a base 4 bytes off
    assert not tma_ready(torch.randn(8, 6)) and not tma_ready(torch.randn(8, 12).bfloat16())  # rows of 24 bytes
    assert not tma_ready(base, base[:, 1:])


def test_descriptors_made_in_a_kernel_get_torch_scratch_unless_the_caller_set_an_allocator():
    import triton
    from selfsup_kernels_experimental._triton_tma import _scratch, ensure_allocator
    from triton.runtime import _allocation

    def fresh():
        _allocation._allocator.set(_allocation.NullAllocator())
        ensure_allocator()
        return _allocation._allocator.get()

    def kept():
        mine = lambda size, alignment, stream: None  # noqa: E731
        triton.set_allocator(mine)
        ensure_allocator()
        return _allocation._allocator.get() is mine

    assert contextvars.copy_context().run(fresh) is _scratch
    assert contextvars.copy_context().run(kept)


def test_warp_specialized_launchers_try_their_own_configurations_at_four_warps(monkeypatch, T, untuned_gpu_launch):
    """The autotuner of each warp-specialized launcher times its own list (4 warps asked, a producer and two
    consumers launched); without autotuning on a GPU the first of it runs, every launch with ``WARP_SPECIALIZE``
    after Triton's scratch allocator is ensured; the row wrappers take these launchers."""
    for launch, configs in ((T._FORWARD_WS, T.WARP_SPECIALIZED_FORWARD), (T._BACKWARD_WS, T.WARP_SPECIALIZED_BACKWARD),
                            (T._BACKWARD_STORE_DS_WS, T.WARP_SPECIALIZED_STORE_DS)):
        assert launch.configs_for(256) == configs and all(w == 4 for _, _, w, _ in configs)
        assert all(m >= 128 for m, _, _, _ in configs)  # at 64 rows both consumers take the same rows
    assert T._BACKWARD_STORE_DS_WS.restore_value == ["DQ"]

    kernel, seen = untuned_gpu_launch()
    allocated_before = []  # what the kernel had been launched with when the allocator was ensured: nothing yet
    monkeypatch.setattr(T, "ensure_allocator", lambda: allocated_before.append(dict(seen)))
    T.launcher(kernel, [], ["n_rows"], extra=[(128, 32, 4, 2)], default=(128, 32, 4, 2), warp_specialize=True)(
        lambda meta: (300 // meta["BLOCK_M"],), BLOCK_D=64)
    assert seen == {"grid": (2,), "BLOCK_D": 64, "BLOCK_M": 128, "BLOCK_N": 32, "num_warps": 4, "num_stages": 2,
                    "WARP_SPECIALIZE": True}
    assert allocated_before == [{}]
    assert T._FORWARD_WS.warp_specialized and T._BACKWARD_WS.warp_specialized
    assert T._BACKWARD_STORE_DS_WS.warp_specialized and not T._FORWARD.warp_specialized

    launched = []
    monkeypatch.setattr(T, "_FORWARD_WS", lambda grid, *args, **kwargs: launched.append("forward"))
    monkeypatch.setattr(T, "_BACKWARD_WS", lambda grid, *args, **kwargs: launched.append("backward"))
    q = torch.randn(8, 32)
    T._row_lse(q, q, None, 1.0, warp_specialize=True)
    T._grad_rows(q, q, None, 1.0, (q[:, 0], q[:, 1]), None, warp_specialize=True)
    assert launched == ["forward", "backward"]
