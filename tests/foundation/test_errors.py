"""Every error the package raises is one of errors.py, under one base; no assert as a check."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import ionto_cds
from ionto_cds import errors
from ionto_cds.errors import IontoError, quote

PACKAGE = Path(ionto_cds.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
OURS = {name for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, IontoError)}


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_packages_own_errors_are_raised(path: Path) -> None:
    raised = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "?")
            if name not in OURS:
                raised.append(f"line {node.lineno}: {name}")
    assert raised == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_assert_and_no_blind_except(path: Path) -> None:
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Assert):
            found.append(f"line {node.lineno}: assert")
        if isinstance(node, ast.ExceptHandler):
            names = [node.type] if not isinstance(node.type, ast.Tuple) else node.type.elts
            for n in names:
                if n is None or (isinstance(n, ast.Name) and n.id in ("Exception",
                                                                      "BaseException")):
                    found.append(f"line {node.lineno}: blind except")
    assert found == []


def test_every_error_derives_from_the_base_and_a_builtin() -> None:
    for name in OURS - {"IontoError"}:
        cls = getattr(errors, name)
        assert issubclass(cls, IontoError) and issubclass(cls, Exception)
        assert any(base in cls.__mro__ for base in (ValueError, KeyError, RuntimeError)), name


@pytest.mark.parametrize(("value", "shown"), [
    ("plain", "'plain'"),
    ("tab\there", "'tab\\\\there'"),
    ("zero\u200bwidth", "'zero\\\\u200bwidth'"),
    ("x" * 200, "'" + "x" * 80 + "… (200 characters)'"),
    (10**80, "a number with more than 60 digits"),
    (True, "yes"),
    ([1, 2], "a list"),
    ({"a": 1}, "a mapping"),
])
def test_values_are_quoted_short_and_visible(value: object, shown: str) -> None:
    assert quote(value) == shown.replace("\\\\", "\\")
