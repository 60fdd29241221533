"""``"auto"`` algorithms: each candidate timed on a problem's first call, the fastest kept; the deterministic default
where timing is impossible or determinism is asked for; the losses' values unchanged whichever is chosen."""

import pytest
import selfsup_kernels_experimental as kernels
import torch
from selfsup_kernels_experimental import _algorithm_tuner as tuner

needs_triton = pytest.mark.skipif(not kernels.triton_available(), reason="needs triton")
CPU = torch.device("cpu")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _reference_lse(q, k, scale, exclude=None):
    """Row and column LSE of ``scale * q @ k.T`` in float64 (``exclude``: the diagonal left out)."""
    s = (q @ k.T) * scale
    if exclude is not None:
        s = s.masked_fill(torch.eye(q.shape[0], dtype=torch.bool), float("-inf"))
    return torch.logsumexp(s, 1), torch.logsumexp(s, 0)


@pytest.fixture(autouse=True)
def fresh_choices():
    tuner.forget()
    yield
    tuner.forget()


def _runs(calls: list[str], names=("rows", "fused")) -> dict:
    return {name: (lambda name=name: calls.append(name)) for name in names}


def test_the_fastest_candidate_is_chosen_once_per_problem():
    calls: list[str] = []
    times = {"rows": 3.0, "fused": 1.0}

    def timer(name, run):
        run()
        return times[name]

    assert tuner.fastest("forward", ("a",), _runs(calls), CPU, timer) == "fused"
    assert calls == ["rows", "fused"] * 2  # once to compare their outputs, once timed
    times.update(rows=0.5)  # cached: not timed again for the same problem
    assert tuner.fastest("forward", ("a",), _runs(calls), CPU, timer) == "fused"
    assert calls == ["rows", "fused"] * 2
    assert tuner.fastest("forward", ("b",), _runs(calls), CPU, timer) == "rows"  # a new problem is timed
    assert calls == ["rows", "fused"] * 4
    assert sorted(tuner.chosen().values()) == ["fused", "rows"]


def test_a_candidate_that_disagrees_with_the_first_is_never_chosen():
    """A miscompiled kernel may well be the fastest: its outputs are compared with the row kernels' first."""
    want = (torch.tensor([1.0, 2.0, float("-inf")]), torch.ones(2, 3))
    runs = {"rows": lambda: want,
            "fused": lambda: (want[0] * (1 + 1e-4), want[1] + 1e-4),  # rounding: agrees
            "gemm": lambda: (want[0], want[1] * 1.5)}  # wrong
    times = {"rows": 3.0, "fused": 2.0, "gemm": 1.0}
    with pytest.warns(RuntimeWarning, match="'gemm' differs from 'rows' by 0.5"):
        got = tuner.fastest("backward", ("a",), runs, CPU, lambda name, run: times[name])
    assert got == "fused"
    assert tuner.disagreement(want, want) == 0.0
    assert tuner.disagreement((want[0], None), (want[0], None)) == 0.0
    assert tuner.disagreement((want[0], None), want) == float("inf")
    assert tuner.disagreement(torch.tensor([1.0, 2.0, 3.0]), want[0]) == float("inf")  # finite where -inf was
    assert tuner.disagreement(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0])) == float("inf")


def test_a_candidate_that_fails_to_run_is_left_out_and_the_default_still_raises():
    """A candidate that raises on this GPU (no configuration fits, an op its libraries lack) is dropped with a
    warning naming the error; the default's own error is not swallowed."""
    want = torch.ones(3)
    timed = []

    def timer(name, run):
        timed.append(name)
        return {"rows": 2.0, "fused": 1.0, "gemm": 0.5}[name]

    def broken():
        raise RuntimeError("out of resources: shared memory")

    runs = {"rows": lambda: want, "fused": lambda: want, "gemm": broken}
    with pytest.warns(RuntimeWarning, match="'gemm' failed on this problem and is not used: RuntimeError: out of"):
        assert tuner.fastest("backward", ("a",), runs, CPU, timer) == "fused"
    assert timed == ["rows", "fused"]
    with pytest.raises(RuntimeError, match="out of resources"):
        tuner.fastest("backward", ("b",), {"rows": broken, "fused": lambda: want}, CPU, timer)


def test_without_timing_the_first_candidate_runs_untimed():
    """On CPU (or under the interpreter, a CUDA graph capture, torch.compile) nothing is timed or run."""
    calls: list[str] = []
    assert tuner.fastest("backward", ("a",), _runs(calls), CPU) == "rows"
    assert calls == [] and tuner.chosen() == {}


def test_a_problem_timed_before_keeps_its_choice_where_timing_is_impossible(monkeypatch):
    """E.g. a CUDA graph captured after the first (eager) step: the captured step runs what was timed fastest."""
    calls: list[str] = []
    assert tuner.fastest("forward", ("a",), _runs(calls), CPU, lambda name, run: {"rows": 2.0, "fused": 1.0}[name])
    monkeypatch.setattr(tuner, "_timing_possible", lambda device: False)
    assert tuner.fastest("forward", ("a",), _runs(calls), CPU) == "fused"
    assert tuner.fastest("forward", ("new",), _runs(calls), CPU) == "rows"  # not timed, not cached
    assert calls == ["rows", "fused"] and len(tuner.chosen()) == 1  # the comparison before the timing only


def test_deterministic_mode_leaves_out_the_atomic_algorithms():
    calls: list[str] = []
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        assert tuner.fastest("self", ("a",), _runs(calls, ("rows", "symmetric")), CPU, lambda name, run: 0.0) == "rows"
        with pytest.raises(ValueError, match="no deterministic self algorithm"):
            tuner.fastest("self", ("a",), _runs(calls, ("symmetric",)), CPU, lambda name, run: 0.0)
    finally:
        torch.use_deterministic_algorithms(before)
    assert calls == []


def test_an_unknown_algorithm_is_named():
    from selfsup_kernels_experimental import _triton_lse

    with pytest.raises(ValueError, match="algorithm must be 'rows' or 'fused' or 'auto', got 'atomic'"):
        _triton_lse.resolve_algorithm("forward", "atomic", _runs([]), CPU, ())


@pytest.fixture
def prefer(monkeypatch):
    """``prefer(*names)``: "auto" times its candidates on CPU too, and ``names`` are the fastest of their stages;
    returns the names timed."""
    def setup(*preferred: str) -> list:
        timed: list = []

        def fake_time(name, run):
            run()
            timed.append(name)
            return 1.0 if name in preferred else 2.0

        monkeypatch.setattr(tuner, "_timing_possible", lambda device: True)
        monkeypatch.setattr(tuner, "_time_ms", fake_time)
        return timed
    return setup


@needs_triton
@pytest.mark.parametrize("preferred", [("rows",), ("fused",), ("gemm",), ("gemm", "split")])
def test_auto_contrastive_lse_matches_float64_whichever_is_chosen(monkeypatch, prefer, preferred):
    """Each forward and backward algorithm, and the gemm backward's dK product by one matmul or split by hand."""
    for stage in ("FORWARD", "BACKWARD"):
        monkeypatch.setenv(f"SELFSUP_TRITON_{stage}", "auto")
    timed = prefer(*preferred)
    gen = torch.Generator().manual_seed(11)
    q64, k64 = (torch.nn.functional.normalize(torch.randn(n, 24, generator=gen), dim=1).double() for n in (40, 56))
    q = q64.float().to(DEVICE).requires_grad_(True)
    k = k64.float().to(DEVICE).requires_grad_(True)
    lse_r, lse_c = kernels.contrastive_lse(q, k, 5.0, columns=True, backend="triton")
    (lse_r.sin().sum() + lse_c.cos().sum()).backward()
    q64.requires_grad_(True), k64.requires_grad_(True)
    ref_r, ref_c = _reference_lse(q64, k64, 5.0)
    (ref_r.sin().sum() + ref_c.cos().sum()).backward()
    # the forward's candidates; the gemm backward's dK product's, timed when the backward's are first compared; the
    # backward's
    assert timed == ["rows", "fused", "mm", "split", "rows", "fused", "gemm"]
    choices = {key[0]: name for key, name in tuner.chosen().items()}
    assert choices == {"forward": "fused" if preferred == ("fused",) else "rows", "backward": preferred[0],
                       "dk_gemm": "split" if "split" in preferred else "mm"}
    torch.testing.assert_close(lse_r.double().cpu(), ref_r, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(lse_c.double().cpu(), ref_c, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(q.grad.double().cpu(), q64.grad, rtol=1e-4, atol=1e-4 * 5.0)
    torch.testing.assert_close(k.grad.double().cpu(), k64.grad, rtol=1e-4, atol=1e-4 * 5.0)


@needs_triton
@pytest.mark.parametrize("preferred", ["rows", "symmetric"])
def test_auto_self_lse_matches_float64_whichever_is_chosen(monkeypatch, prefer, preferred):
    monkeypatch.setenv("SELFSUP_TRITON_SELF", "auto")
    timed = prefer(preferred)
    gen = torch.Generator().manual_seed(12)
    z64 = torch.nn.functional.normalize(torch.randn(72, 24, generator=gen), dim=1).double()
    z = z64.float().to(DEVICE).requires_grad_(True)
    lse = kernels.self_contrastive_lse(z, 4.0, backend="triton")
    lse.sin().sum().backward()
    z64.requires_grad_(True)
    ref = _reference_lse(z64, z64, 4.0, exclude=True)[0]
    ref.sin().sum().backward()
    assert timed == ["rows", "symmetric"] * 2 and set(tuner.chosen().values()) == {preferred}
    torch.testing.assert_close(lse.double().cpu(), ref, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(z.grad.double().cpu(), z64.grad, rtol=1e-4, atol=1e-4 * 5.0)


def test_the_dk_product_split_by_hand_matches_one_matmul():
    """The gemm backward's ``dS^T @ Q`` split into row slices equals one product (fp32), on a column slice of the dS
    buffer as the backward passes it; rows that the slices do not divide leave one candidate, untimed."""
    from selfsup_kernels_experimental import _triton_lse as T

    gen = torch.Generator().manual_seed(13)
    ds = torch.randn(48, 32, generator=gen, dtype=torch.float64)[:, :20]
    q = torch.randn(48, 12, generator=gen, dtype=torch.float64)
    want = ds.t() @ q
    for splits in (2, 8, 48):
        torch.testing.assert_close(T._mm_split_fp32(ds.float(), q.float(), splits).double(), want, rtol=1e-5,
                                   atol=1e-5)
    torch.testing.assert_close(T._dk_product(ds[:44].float(), q[:44].float()).double(), ds[:44].t() @ q[:44],
                               rtol=1e-5, atol=1e-5)
    assert tuner.chosen() == {}  # a single candidate (44 rows), nothing timed
