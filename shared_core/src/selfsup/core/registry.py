"""Registries of encoders, methods, datasets and benchmark suites, filled by the core and by plugins.

Domain packages expose a callable (or module) in the ``selfsup.plugins`` entry-point group; it is
loaded on first use and registers what the package offers::

    [project.entry-points."selfsup.plugins"]
    vision = "selfsup.vision.plugin:register"

``create_encoder("vit_tiny_patch4", **kwargs)`` then builds any registered encoder by name (timm's
``create_model`` pattern), and ``selfsup list`` shows what is installed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

KINDS = ("encoder", "method", "dataset", "bench", "transfer", "domain", "exporter", "example")
_REGISTRY: dict[str, dict[str, Callable[..., Any]]] = {kind: {} for kind in KINDS}
_PLUGINS_LOADED = False
PLUGIN_GROUP = "selfsup.plugins"


def _register(kind: str, name: str, factory: Callable[..., Any] | None = None):
    def add(obj: Callable[..., Any]) -> Callable[..., Any]:
        existing = _REGISTRY[kind].get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"{kind} {name!r} is already registered (by {getattr(existing, '__module__', existing)})")
        _REGISTRY[kind][name] = obj
        return obj

    return add(factory) if factory is not None else add


def register_encoder(name: str, factory: Callable[..., Any] | None = None):
    """Register an encoder factory (class or function returning an ``nn.Module``); usable as a decorator."""
    return _register("encoder", name, factory)


def register_method(name: str, factory: Callable[..., Any] | None = None):
    """Register a method factory ``factory(encoder, **kwargs) -> nn.Module``."""
    return _register("method", name, factory)


def register_dataset(name: str, factory: Callable[..., Any] | None = None):
    """Register a dataset factory ``factory(root=None, split=..., **kwargs) -> Dataset``."""
    return _register("dataset", name, factory)


def register_bench(name: str, factory: Callable[..., Any] | None = None):
    """Register a benchmark suite ``main(argv: list[str]) -> rows`` under a domain name."""
    return _register("bench", name, factory)


def register_transfer(domain: str, factory: Callable[..., Any] | None = None):
    """Register a domain's cross-modal task ``factory(preset, data_root, seed) -> TransferTask``
    (:mod:`selfsup.core.bench.transfer`): the trunk encoder, its MAE and probes that ``selfsup bench
    crossmodal`` moves trunks between."""
    return _register("transfer", domain, factory)


def register_domain(name: str, factory: Callable[..., Any] | None = None):
    """Register a domain's own-data entry ``factory() -> OwnData`` (:mod:`selfsup.core.data.own_data`): what
    ``selfsup pretrain NAME PATH`` and ``selfsup embed NAME PATH`` use."""
    return _register("domain", name, factory)


def _deferred(module_name: str, resolve: Callable[[Any], Callable[..., Any]], name: str,
              qualname: str) -> Callable[..., Any]:
    """A callable that imports ``module_name`` on its first call and calls ``resolve(module)``; it carries the
    module's name (what ``domain_of`` and ``selfsup list`` read) without importing it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        from importlib import import_module

        return resolve(import_module(module_name))(*args, **kwargs)

    call.__module__, call.__name__, call.__qualname__ = module_name, name, qualname
    return call


def lazy(target: str, **attributes: Any) -> Callable[..., Any]:
    """A callable standing for ``"package.module:function"``, imported on first call (a plugin registers without
    importing its heavy modules); ``attributes`` are set on it (e.g. an exporter's ``default_name``)."""
    module_name, _, function_name = target.partition(":")
    call = _deferred(module_name, lambda module: getattr(module, function_name), function_name, function_name)
    for key, value in attributes.items():
        setattr(call, key, value)
    return call


def lazy_entries(target: str, names: Iterable[str]) -> dict[str, Callable[..., Any]]:
    """``{name: factory}`` standing for the entries ``names`` of the dict ``"package.module:TABLE"``, imported on
    first call: a plugin registers its encoders and methods without importing their libraries (PyG, MONAI,
    transformers), so ``selfsup --help`` and ``selfsup list`` stay fast. ``resolve_entries`` checks the names."""
    module_name, _, table = target.partition(":")
    return {name: _deferred(module_name, lambda module, name=name: getattr(module, table)[name], name,
                            f"{table}[{name!r}]") for name in names}


def resolve_entries(target: str) -> list[str]:
    """The keys of the dict ``"package.module:TABLE"`` (imported): what a plugin's :func:`lazy_entries` must list."""
    from importlib import import_module

    module_name, _, table = target.partition(":")
    return list(getattr(import_module(module_name), table))


def register_exporter(format: str, factory: Callable[..., Any] | None = None):
    """Register ``selfsup export --format FORMAT``: ``factory(encoder, output) -> Exported``
    (:mod:`selfsup.core.export`), which writes the file, reloads it the target library's way and compares outputs;
    it raises :class:`~selfsup.core.export.NotExportable` for an encoder it does not take."""
    return _register("exporter", format, factory)


def register_example(domain: str, factory: Callable[..., Any] | None = None):
    """Register a domain's ``factory(encoder, batch) -> inputs``: a random batch the encoder takes, on which an
    export's outputs are compared with the encoder's (hf, onnx and the domain's own formats)."""
    return _register("example", domain, factory)


def register_package(*, encoders: dict[str, Callable[..., Any]] | None = None,
                     methods: dict[str, Callable[..., Any]] | None = None,
                     datasets: dict[str, Callable[..., Any]] | None = None,
                     bench: tuple[str, Callable[..., Any]] | None = None,
                     transfer: tuple[str, Callable[..., Any]] | None = None,
                     domain: tuple[str, Callable[..., Any]] | None = None,
                     exporters: dict[str, Callable[..., Any]] | None = None,
                     example: tuple[str, Callable[..., Any]] | None = None, method_prefix: str = "",
                     encoder_prefix: str = "") -> None:
    """What a domain plugin's ``register()`` does: its encoders, methods (names prefixed, e.g.
    ``vision_simclr``), datasets, suite ``(name, main)``, cross-modal task ``(domain, factory)`` and own-data entry
    ``(domain, factory)``, export formats ``{format: exporter}`` and example inputs ``(domain, factory)`` in one
    call."""
    for name, factory in (encoders or {}).items():
        register_encoder(f"{encoder_prefix}{name}", factory)
    for name, factory in (methods or {}).items():
        register_method(f"{method_prefix}{name}", factory)
    for name, factory in (datasets or {}).items():
        register_dataset(name, factory)
    if bench is not None:
        register_bench(*bench)
    if transfer is not None:
        register_transfer(*transfer)
    if domain is not None:
        register_domain(*domain)
    for name, factory in (exporters or {}).items():
        register_exporter(name, factory)
    if example is not None:
        register_example(*example)


def load_plugins() -> None:
    """Import the built-ins and every installed ``selfsup.plugins`` entry point (once)."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from selfsup.core import builtins  # noqa: F401  (registers the core's own entries)

    for entry in entry_points(group=PLUGIN_GROUP):
        loaded = entry.load()
        if callable(loaded):
            loaded()


def available(kind: str) -> list[str]:
    """The registered names of ``kind`` (``encoder``, ``method``, ...), plugins loaded first."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    load_plugins()
    return sorted(_REGISTRY[kind])


def get(kind: str, name: str) -> Callable[..., Any]:
    """The registered factory, or a ValueError that lists the names and suggests the closest one."""
    names = available(kind)
    if name not in _REGISTRY[kind]:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown {kind} {name!r}.{hint} Available: {', '.join(names) or 'none'} "
                         f"(install a selfsup domain package for more)")
    return _REGISTRY[kind][name]


def create_encoder(name: str, **kwargs: Any):
    """Build a registered encoder; it remembers ``name`` and ``kwargs`` for ``save_pretrained``."""
    return recorded(get("encoder", name)(**kwargs), name, kwargs)


def recorded(encoder, name: str, kwargs: dict[str, Any]):
    """``encoder`` marked as ``create_encoder(name, **kwargs)`` would build it (what ``save_pretrained`` writes and
    ``load_pretrained`` rebuilds): the domains' own ``build_encoder`` functions end with it."""
    encoder.selfsup_spec = {"name": name, "kwargs": dict(kwargs)}
    return encoder


def create_method(name: str, encoder, **kwargs: Any):
    """Build the registered method ``name`` around ``encoder``."""
    return get("method", name)(encoder, **kwargs)


def create_dataset(name: str, **kwargs: Any):
    """Build the registered dataset ``name``."""
    return get("dataset", name)(**kwargs)
