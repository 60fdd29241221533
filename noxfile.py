"""Sessions: tests per package (core + that package only), tests-all, distributed, build, lint, bench.

nox uses uv as its venv backend; every session installs from the one constraints file.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "tests-all"]

ROOT = Path(__file__).parent
PYTHON = "3.11"
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
DOMAIN_PACKAGES = sorted(p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml"))


def _install(session: nox.Session, *requirements: str) -> None:
    session.install(*CONSTRAINTS, *requirements)


def _pytest(session: nox.Session, *paths: str) -> None:
    """Every test session lists its 25 slowest tests, so a slow one shows in the log; the root conftest.py fails any
    test phase over SELFSUP_TEST_TIME_LIMIT (120 s)."""
    session.run("python", "-m", "pytest", "-q", "--durations=25", *paths, *session.posargs)


@nox.session(python=PYTHON, name="tests")
@nox.parametrize("package", ["core", *DOMAIN_PACKAGES])
def tests(session: nox.Session, package: str) -> None:
    """torch + selfsup-core + one domain package only: proves each installs and works alone."""
    _install(session, "-e", "shared_core[test]")
    if package == "core":
        _pytest(session, "shared_core/tests")
    else:
        _install(session, "-e", f"packages/{package}[test]")
        _pytest(session, f"packages/{package}")


@nox.session(python=PYTHON, name="tests-all")
def tests_all(session: nox.Session) -> None:
    """Everything installed together; every test in the repository, cross-package ones included."""
    _install(session, "-e", "shared_core[test]")
    for package in DOMAIN_PACKAGES:
        _install(session, "-e", f"packages/{package}[test]")
    _pytest(session)


@nox.session(python=PYTHON)
def distributed(session: nox.Session) -> None:
    """Multi-process (gloo) tests: gathered objectives equal one process on the whole batch."""
    _install(session, "-e", "shared_core[test]")
    _pytest(session, "tests/distributed")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build every wheel, check the PEP 420 namespace, LICENSE and py.typed in each, install the wheels and import
    them."""
    session.install("build")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    folders = ["shared_core", *(f"packages/{p}" for p in DOMAIN_PACKAGES)]
    for folder in folders:
        session.run("python", "-m", "build", "--installer", "uv", "--wheel", "--outdir", str(dist), folder)
    wheels = sorted(dist.glob("selfsup_*.whl"))
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        if "selfsup/__init__.py" in names:
            session.error(f"{wheel.name} ships selfsup/__init__.py: the PEP 420 namespace is broken")
        if not any(n.startswith("selfsup/") and n.endswith("/__init__.py") for n in names):
            session.error(f"{wheel.name} contains no selfsup subpackage")
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
            session.error(f"{wheel.name} ships no LICENSE")
        if not any(n.startswith("selfsup/") and n.endswith("/py.typed") for n in names):
            session.error(f"{wheel.name} ships no py.typed: type checkers would ignore its annotations")
    _install(session, *map(str, wheels))
    modules = ["selfsup.core", *(f"selfsup.{p}" for p in DOMAIN_PACKAGES)]
    session.run("python", "-c", f"import importlib; [importlib.import_module(m) for m in {modules!r}]; "
                "import selfsup; assert not hasattr(selfsup, '__file__') or selfsup.__file__ is None; "
                "print('namespace intact:', list(selfsup.__path__))")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site (MkDocs Material; API reference from the docstrings by mkdocstrings), built with
    --strict: a broken link, a missing page or a docstring that does not parse fails. Output: out/site/."""
    session.install("mkdocs-material>=9.5", "mkdocstrings[python]>=0.26")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHON, name="tests-lowest")
def tests_lowest(session: nox.Session) -> None:
    """Every package at the lowest versions its dependencies declare (uv --resolution lowest-direct; the torch stack
    stays pinned by the constraints file), then the fast tests: proves the lower bounds."""
    requirements = ["-e", "shared_core[test]", *[arg for p in DOMAIN_PACKAGES for arg in ("-e", f"packages/{p}[test]")]]
    session.run("uv", "pip", "install", "--python", session.virtualenv.location, "--resolution", "lowest-direct",
                *CONSTRAINTS, *requirements, external=True)
    _pytest(session, *LOWEST_TESTS)


# The fast tests that import every package and exercise its public API (a few minutes).
LOWEST_TESTS = (
    "tests/test_namespace.py", "tests/test_cli_startup.py", "shared_core/tests/test_objectives_reference.py",
    "packages/vision/tests/test_own_data.py", "packages/audio/tests/test_own_data.py",
    "packages/graph/tests/test_own_data.py", "packages/tabular/tests/test_own_data.py",
    "packages/medical/tests/test_own_data.py", "packages/tabular/tests/test_methods_sklearn.py",
)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")




def _bench(session: nox.Session, preset: str) -> None:
    """The core suite and every domain suite on their embedded data, one report (``selfsup bench all``)."""
    _install(session, "-e", "shared_core[bench]",
             *[arg for p in DOMAIN_PACKAGES for arg in ("-e", f"packages/{p}[bench]")])
    session.run("selfsup", "bench", "all", "--preset", preset, "--suites", ",".join(["core", *DOMAIN_PACKAGES]),
                "--output", str(ROOT / "out" / f"bench-{preset}"), *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Main job (about 9 minutes on 2 CPU cores): every suite's default preset, then a summary: did SSL help?
    ``nox -s bench -- --preset full`` runs the long presets (hours), ``-- --suites graph`` one suite."""
    _bench(session, "default")


@nox.session(python=PYTHON, name="bench-smoke")
def bench_smoke(session: nox.Session) -> None:
    _bench(session, "smoke")
