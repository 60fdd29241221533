"""Read the pickled files of published datasets (CIFAR batches, Planetoid's ``ind.*``) as data, never as code.

A pickle names the functions that rebuild its objects, and ``pickle.load`` calls whatever it names. The
:class:`RestrictedUnpickler` resolves only the names on an allow-list that the dataset formats need (NumPy arrays
and dtypes, SciPy CSR/CSC matrices, ``collections.defaultdict``, builtin containers) and refuses any other with
:class:`UnsafePickleError`, naming the file and the refused name.

    data = load_restricted("cifar-10-batches-py/data_batch_1", encoding="latin1")
"""

from __future__ import annotations

import _compat_pickle
import builtins
import collections
import copyreg
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that names something the dataset formats do not hold (possibly code)."""


def _numpy_names() -> dict[tuple[str, str], Any]:
    reconstruct = np.ndarray(0).__reduce__()[0]  # numpy.(_)core.multiarray._reconstruct, whichever is installed
    scalar = np.float64(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # protocol 5's rebuild of a contiguous array from its bytes
    names = {}
    for module in ("numpy.core", "numpy._core"):
        names[(f"{module}.multiarray", "_reconstruct")] = reconstruct
        names[(f"{module}.multiarray", "scalar")] = scalar
        names[(f"{module}.numeric", "_frombuffer")] = frombuffer
    names[("numpy", "ndarray")] = np.ndarray
    names[("numpy", "dtype")] = np.dtype
    return names


def _scipy_names() -> dict[tuple[str, str], Any]:
    try:
        from scipy import sparse
    except ImportError:
        return {}
    names = {}
    for kind in ("csr", "csc"):
        cls = getattr(sparse, f"{kind}_matrix")
        for module in (f"scipy.sparse.{kind}", f"scipy.sparse._{kind}", "scipy.sparse"):
            names[(module, f"{kind}_matrix")] = cls
    return names


def _allowed() -> dict[tuple[str, str], Any]:
    names = {("builtins", n): getattr(builtins, n) for n in ("list", "dict", "set", "frozenset", "tuple", "object",
                                                              "bytearray", "complex", "slice")}
    names[("collections", "defaultdict")] = collections.defaultdict
    names[("collections", "OrderedDict")] = collections.OrderedDict
    names[("copyreg", "_reconstructor")] = copyreg._reconstructor  # calls object.__new__ on an allowed class only
    names[("_codecs", "encode")] = _latin1_encode  # how Python 3 pickles bytes at protocol 2 (NumPy buffers)
    return {**names, **_numpy_names(), **_scipy_names()}


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode with encoding {encoding!r} is not a dataset format's")
    return text.encode("latin1")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only allow-listed names (Python 2 names are mapped to Python 3 first)."""

    def __init__(self, file: BinaryIO, *, source: str = "the file", **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.source = source
        self.allowed = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in _compat_pickle.NAME_MAPPING:
            key = _compat_pickle.NAME_MAPPING[key]
        elif module in _compat_pickle.IMPORT_MAPPING:
            key = (_compat_pickle.IMPORT_MAPPING[module], name)
        found = self.allowed.get(key)
        if found is None:
            raise UnsafePickleError(f"{self.source}: refused to load {module}.{name}: the file is read as data, and "
                                    "this name is not one its format holds (a damaged or crafted file)")
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.source}: persistent ids are not part of a dataset format")


def load_restricted(path: str | Path, *, encoding: str = "ASCII") -> Any:
    """The object pickled in ``path``, built from allow-listed types only. A file that names anything else
    raises :class:`UnsafePickleError`; one that is cut short or not a pickle raises a ``ValueError`` naming it."""
    path = Path(path)
    with path.open("rb") as handle:
        try:
            return RestrictedUnpickler(handle, source=str(path), encoding=encoding).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as err:
            raise ValueError(f"{path}: not a readable pickle ({type(err).__name__}: {err})") from None
