"""What the core itself registers: the MLP encoder, the digits dataset, the two-view methods and
the core benchmark suite."""

from __future__ import annotations

from functools import partial

from selfsup.core.data import DigitsViews
from selfsup.core.encoders import MLPEncoder
from selfsup.core.methods import EMADistillation, SimSiam, TwoViewMethod
from selfsup.core.registry import (
    lazy,
    register_bench,
    register_dataset,
    register_encoder,
    register_example,
    register_exporter,
    register_method,
)


def _core_bench(argv: list[str] | None = None):
    from selfsup.core.bench.digits import main

    return main(argv)


def _crossmodal_bench(argv: list[str] | None = None):
    from selfsup.core.bench.crossmodal import main

    return main(argv)


def _all_bench(argv: list[str] | None = None):
    from selfsup.core.bench.all_suites import main

    return main(argv)


register_encoder("mlp", MLPEncoder)
register_dataset("digits", DigitsViews)
for _name, _objective in (("simclr", "nt_xent"), ("infonce", "info_nce"), ("dcl", "dcl"), ("dclw", "dclw"),
                          ("barlow_twins", "barlow_twins"), ("vicreg", "vicreg")):
    register_method(_name, partial(TwoViewMethod, objective=_objective))
register_method("simsiam", SimSiam)
register_method("byol", partial(EMADistillation, kind="byol"))
register_method("dino", partial(EMADistillation, kind="dino"))
register_bench("core", _core_bench)
register_bench("crossmodal", _crossmodal_bench)
register_bench("all", _all_bench)
register_exporter("hf", lazy("selfsup.core.export.hf:export_hf", default_name="hf"))
register_exporter("onnx", lazy("selfsup.core.export.onnx:export_onnx", default_name="encoder.onnx"))
register_example("core", lazy("selfsup.core.encoders.mlp:example_vectors"))
