"""platform/ is a source root, never a package: the stdlib ``platform`` module must stay importable."""

import platform
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stdlib_platform_is_not_shadowed():
    assert Path(platform.__file__).resolve().parent == Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert platform.system()  # the libraries that call this at import time keep working


def test_platform_folder_has_no_init():
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert (ROOT / "platform" / "formwork" / "__init__.py").exists()


def test_libraries_that_probe_platform_import():
    import flask  # noqa: F401
    import flask_sqlalchemy  # noqa: F401
    import jsonschema  # noqa: F401
    import sqlalchemy  # noqa: F401
    import weasyprint  # noqa: F401

    assert "formwork" in sys.modules or __import__("formwork")
