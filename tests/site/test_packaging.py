"""``python -m build`` ships everything the app needs, in both the sdist and the wheel.

The build runs on a copy of the working tree (so it never writes into it),
with a template, a static file and a compiled catalogue added to the copy:
that proves the packaging rules carry such files even before the app has
its own of each kind.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import django_engagelab_otp
from tests.support.building import build, copy_checkout
from tests.support.constants import ROOT

PACKAGE = "django_engagelab_otp"
NAME = f"django_engagelab_otp-{django_engagelab_otp.__version__}"

#: Files added to the copy only: one of each kind that package_data and MANIFEST.in must carry.
PROBES = {
    "templates/django_engagelab_otp/packaging_probe/probe.html": b"<p>{{ probe }}</p>\n",
    "static/django_engagelab_otp/packaging_probe/probe.css": b".probe { color: red; }\n",
    "locale/xx/LC_MESSAGES/django.po": b'msgid ""\nmsgstr ""\n',
    "locale/xx/LC_MESSAGES/django.mo": b"\xde\x12\x04\x95\x00\x00\x00\x00",
}


def package_files(root: Path) -> set[str]:
    """Every file of the package under ``root``, relative to ``root``, as archives name them."""
    return {
        path.relative_to(root).as_posix()
        for path in (root / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("packaging")
    source, out = copy_checkout(base / "src"), base / "dist"
    for name, content in PROBES.items():
        path = source / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    # The wheel is built from the sdist, so the sdist must be complete for it to be.
    build(source, out)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        sdist_names = {
            name.split("/", 1)[1] for name in archive.getnames() if "/" in name and archive.getmember(name).isfile()
        }
        pkg_info = archive.extractfile(f"{NAME}/PKG-INFO").read().decode()
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = set(archive.namelist())
        metadata = archive.read(f"{NAME}.dist-info/METADATA").decode()
        archive.extractall(base / "installed")  # noqa: S202 (the wheel built above)
    return {
        "source": source,
        "wheel": wheel,
        "sdist": sdist,
        "sdist_names": sdist_names,
        "wheel_names": wheel_names,
        "metadata": email.message_from_string(metadata),
        "pkg_info": email.message_from_string(pkg_info),
        "installed": base / "installed",
    }


def test_build_gives_an_sdist_and_a_wheel(built):
    assert built["wheel"].name == f"{NAME}-py3-none-any.whl"
    assert built["sdist"].name == f"{NAME}.tar.gz"


@pytest.mark.parametrize("archive", ["wheel_names", "sdist_names"])
def test_every_package_file_is_shipped(built, archive):
    expected = package_files(built["source"])
    # The essentials, named, so that an empty tree cannot pass.
    for name in [
        f"{PACKAGE}/py.typed",
        f"{PACKAGE}/migrations/__init__.py",
        f"{PACKAGE}/migrations/0001_initial.py",
        f"{PACKAGE}/management/commands/engagelab_send.py",
        # The demo site (python -m django_engagelab_otp.demo), with its pages and styles.
        f"{PACKAGE}/demo/__main__.py",
        f"{PACKAGE}/demo/templates/example/base.html",
        f"{PACKAGE}/demo/static/example/site.css",
        # The compiled catalogs, the package's and the demo site's.
        f"{PACKAGE}/locale/de/LC_MESSAGES/django.mo",
        f"{PACKAGE}/demo/locale/zh_Hans/LC_MESSAGES/django.mo",
        *(f"{PACKAGE}/{probe}" for probe in PROBES),
    ]:
        assert name in expected
    missing = expected - built[archive]
    assert not missing, f"not in the {archive.split('_')[0]}: {sorted(missing)}"


def test_the_wheel_holds_only_the_package_and_its_metadata(built):
    tops = {name.split("/", 1)[0] for name in built["wheel_names"]}
    assert tops == {PACKAGE, f"{NAME}.dist-info"}
    licences = [name for name in built["wheel_names"] if name.startswith(f"{NAME}.dist-info/") and "LICENSE" in name]
    assert licences, "the licence is not in the wheel"


def test_the_sdist_holds_what_a_rebuild_and_its_tests_need(built):
    for name in ["LICENSE", "README.md", "CHANGELOG.md", "setup.cfg", "pyproject.toml", "MANIFEST.in", "mkdocs.yml"]:
        assert name in built["sdist_names"]
    # The documentation's sources, which tests/site/test_docs.py reads.
    docs = {
        path.relative_to(built["source"]).as_posix() for path in (built["source"] / "docs").rglob("*") if path.is_file()
    }
    assert {"docs/index.md", "docs/hooks.py", "docs/changelog.md"} <= docs <= built["sdist_names"]
    # The test suite is shipped whole or not at all.
    tests = {name for name in built["sdist_names"] if name.startswith("tests/")}
    source_tests = {
        path.relative_to(built["source"]).as_posix()
        for path in (built["source"] / "tests").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert tests >= source_tests
    assert not any(name.startswith(("bench/", ".venv")) for name in built["sdist_names"])


def test_metadata(built):
    metadata = built["metadata"]
    assert metadata["Name"] == "django-engagelab-otp"
    assert metadata["Version"] == django_engagelab_otp.__version__
    requires = " ".join(metadata.get_all("Requires-Dist"))
    for dependency in ["Django", "requests", "phonenumbers"]:
        assert dependency in requires
    assert "ratelimit" not in requires, "the limits count in Django's cache themselves"
    assert metadata["Description-Content-Type"] == "text/markdown"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert metadata.get_payload().strip() == readme.strip()
    assert built["pkg_info"]["Version"] == metadata["Version"]
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert {"Documentation", "Changelog", "Source"} <= set(urls)


def test_twine_accepts_both_distributions(built):
    """``twine check --strict``: the metadata PyPI reads is complete and its description renders."""
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built["sdist"]), str(built["wheel"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_long_description_renders_as_pypi_shows_it(built):
    """twine does not render Markdown; PyPI does, with readme_renderer: every heading and code block survives."""
    from readme_renderer.markdown import render

    description = built["metadata"].get_payload()
    html = render(description)
    assert html, "readme_renderer could not render the description"
    headings = re.findall(r"^#{1,3} (.+)$", re.sub(r"```.*?```", "", description, flags=re.S), re.M)
    assert len(headings) >= 5
    for heading in headings:
        assert f">{heading}<" in html, heading
    assert html.count("<pre") == description.count("```") // 2


def test_the_wheel_imports_on_its_own(built):
    """The unpacked wheel is a working package: its modules import and the commands are found."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import django, pathlib; from django.conf import settings;"
        "settings.configure(INSTALLED_APPS=['django_engagelab_otp']); django.setup();"
        "import django_engagelab_otp as p, django_engagelab_otp.backends.http, django_engagelab_otp.services;"
        "from django.core.management import get_commands;"
        "print(pathlib.Path(p.__file__).parent.parent);"
        "print(sorted(c for c, app in get_commands().items() if app == 'django_engagelab_otp'))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(built["installed"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    location, commands = result.stdout.splitlines()
    assert Path(location) == built["installed"]
    for command in ["engagelab_send", "engagelab_templates", "engagelab_verify"]:
        assert command in commands
