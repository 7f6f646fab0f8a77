"""Every code block of the README and of docs/ runs, as written.

The convention the pages follow:

- A fenced block whose first line is ``# <path>`` (``# conftest.py``,
  ``# myapp/__init__.py``, ``# tests/test_accounts.py``, ``# pytest.ini``),
  optionally followed by ``: a comment``, is a file of the page's suite. The
  files of one page form one project, written into a directory of their own
  and run by pytest in a process of its own, as a user runs it: it must pass,
  with at least one test. A path appears at most once per page.
- A page that carries ``<!-- suite: examples/myapp -->`` has the example app
  under its files (its package ``myapp/`` and ``config.py``): its blocks
  import the example app as a user's project imports its own.
- Every other ``python`` block is a snippet: it runs on its own, in a fresh
  namespace, in a process of its own with the page's project importable. Its
  imports must be there and must resolve, and its top-level code must run.
- ``<!-- fragment -->`` on the line before a ``python`` block: it cannot run
  alone and is only compiled. Fragments stay rare (``MAX_FRAGMENTS``).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE = ROOT / "examples" / "myapp"
FILE_LINE = re.compile(r"^# ([\w./-]+\.(?:py|ini|toml|cfg|txt))(?::.*)?$")
SUITE_MARK = re.compile(r"<!--\s*suite:\s*(\S+)\s*-->")
FRAGMENT_MARK = "<!-- fragment -->"
MAX_FRAGMENTS = 3


@dataclass
class Block:
    page: Path
    line: int
    language: str
    text: str
    fragment: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def path(self) -> str | None:
        first = self.text.split("\n", 1)[0]
        found = FILE_LINE.match(first)
        return found.group(1) if found else None


@dataclass
class Page:
    path: Path
    blocks: list[Block] = field(default_factory=list)
    base: str | None = None

    @property
    def files(self) -> list[Block]:
        return [block for block in self.blocks if block.path is not None]

    @property
    def snippets(self) -> list[Block]:
        return [b for b in self.blocks if b.path is None and b.language == "python"]


def read_page(path: Path) -> Page:
    text = path.read_text()
    page = Page(path)
    found = SUITE_MARK.search(text)
    page.base = found.group(1) if found else None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            indent = len(line) - len(line.lstrip())
            language = line.strip()[3:].strip()
            before = next((ln.strip() for ln in reversed(lines[:index]) if ln.strip()), "")
            body = []
            index += 1
            while not lines[index].lstrip().startswith("```"):
                body.append(lines[index][indent:])
                index += 1
            page.blocks.append(
                Block(path, index - len(body), language, "\n".join(body) + "\n",
                      fragment=before == FRAGMENT_MARK)
            )
        index += 1
    return page


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def make_project(page: Page, directory: Path) -> list[str]:
    """The page's project in ``directory``; the test files written, relative."""
    if page.base is not None:
        base = ROOT / page.base
        assert base == EXAMPLE, f"{page_id(page.path)}: unknown suite base {page.base}"
        shutil.copytree(base / "myapp", directory / "myapp",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(base / "config.py", directory / "config.py")
    tests = []
    for block in page.files:
        target = directory / block.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text)
        if Path(block.path).name.startswith("test_"):
            tests.append(block.path)
    return tests


def user_environment() -> dict[str, str]:
    """This process's environment less the settings of the run: a user's shell."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TESTBED_") and key != "PYTEST_ADDOPTS"
    }


ALL = [read_page(path) for path in PAGES]
WITH_FILES = [page for page in ALL if page.files]
WITH_SNIPPETS = [page for page in ALL if page.snippets]


def test_the_pages_hold_blocks_of_each_kind() -> None:
    assert len(WITH_FILES) >= 4, [page_id(page.path) for page in WITH_FILES]
    assert sum(len(page.snippets) for page in ALL) >= 5
    fragments = [b.where for page in ALL for b in page.snippets if b.fragment]
    assert len(fragments) <= MAX_FRAGMENTS, fragments


@pytest.mark.parametrize("page", ALL, ids=[page_id(page.path) for page in ALL])
def test_every_python_block_compiles(page: Page) -> None:
    for block in page.blocks:
        if block.language == "python":
            compile(block.text, block.where, "exec")


@pytest.mark.parametrize("page", WITH_FILES, ids=[page_id(page.path) for page in WITH_FILES])
def test_the_page_s_files_form_a_passing_suite(
    page: Page, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [block.path for block in page.files]
    assert len(paths) == len(set(paths)), f"{page_id(page.path)} writes a file twice: {paths}"
    tests = make_project(page, pytester.path)
    assert tests, f"{page_id(page.path)} has files but no test file"
    for key in list(os.environ):
        if key.startswith("TESTBED_") or key == "PYTEST_ADDOPTS":
            monkeypatch.delenv(key)
    result = pytester.runpytest_subprocess(
        f"--rootdir={pytester.path}", "-p", "no:cacheprovider", *tests
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.OK, output
    written = sum(
        len(re.findall(r"^\s*def test_", block.text, re.MULTILINE))
        for block in page.files if Path(block.path).name.startswith("test_")
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= written >= 1, output
    assert set(outcomes) <= {"passed", "warning", "warnings"}, output


RUNNER = """
import json, sys, traceback
failures = []
for where, text in json.load(sys.stdin):
    try:
        exec(compile(text, where, "exec"), {"__name__": "__snippet__"})
    except BaseException:
        failures.append(where + "\\n" + traceback.format_exc(limit=-3))
print(json.dumps(failures))
"""


@pytest.mark.parametrize(
    "page", WITH_SNIPPETS, ids=[page_id(page.path) for page in WITH_SNIPPETS]
)
def test_every_snippet_runs(page: Page, tmp_path: Path) -> None:
    make_project(page, tmp_path)
    snippets = [(b.where, b.text) for b in page.snippets if not b.fragment]
    env = {**user_environment(), "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    )}
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER], input=json.dumps(snippets), cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    failures = json.loads(completed.stdout.strip().splitlines()[-1])
    assert not failures, "\n".join(failures)


# -- every message the plugin prints has an entry in the FAQ ------------------------------

SOURCE = ROOT / "src" / "flask_testbed"
FAQ = ROOT / "docs" / "faq.md"
PRINTERS = {"fail", "warn", "exit", "say", "skip", "PytestWarning", "UsageError", "_stopped"}
MIN_FRAGMENT = 12
SQL = ("SELECT", "INSERT", "CREATE", "DROP", "DELETE", "ALTER", "SHOW", "UPDATE")


def _static_text(node: ast.AST) -> str | None:
    """A message's text, each computed part as ``\\0``; None when it is not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "\0" for part in node.values
        )
    return None


def messages() -> dict[str, str]:
    """Each message of the plugin's source (where it is -> its longest fixed part).

    A message is the string given to an exception the plugin raises, to
    pytest's fail/exit/skip, to a warning, or to the run's announcer, or a
    sentence kept in a name or returned (``message = f"...; fix"``) to be
    raised or printed elsewhere.
    """
    found: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        raised = {id(node.exc) for node in ast.walk(tree) if isinstance(node, ast.Raise)}
        candidates: list[tuple[int, ast.AST]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if id(node) in raised or name in PRINTERS:
                    candidates.append((node.lineno, node.args[0]))
        for node in ast.walk(tree):
            # A sentence kept in a name or returned, then raised or printed elsewhere.
            if isinstance(node, (ast.Assign, ast.Return)) and node.value is not None:
                text = _static_text(node.value) or ""
                if (len(text) >= 60 and ("; " in text or ": " in text)
                        and not text.lstrip().upper().startswith(SQL)):
                    candidates.append((node.lineno, node.value))
        for line, node in candidates:
            text = _static_text(node)
            if text is None:
                continue
            fragment = max((" ".join(p.split()) for p in text.split("\0")), key=len)
            if len(fragment.strip(" :;,.()")) >= MIN_FRAGMENT:
                found[f"{path.relative_to(ROOT)}:{line}"] = fragment
    return found


def test_the_source_s_messages_are_found() -> None:
    assert len(messages()) >= 40


def test_every_message_has_an_faq_entry() -> None:
    faq = " ".join(FAQ.read_text().split())
    missing = {where: text for where, text in messages().items() if text not in faq}
    assert not missing, "messages with no entry in docs/faq.md:\n" + "\n".join(
        f"{where}: {text}" for where, text in missing.items()
    )


# -- the README is read on an index page too: its links are absolute -----------------------

ABSOLUTE = (
    "https://flask-testbed.readthedocs.io/",
    "https://github.com/flask-testbed/flask-testbed/blob/main/",
    "https://raw.githubusercontent.com/flask-testbed/flask-testbed/main/",
)


def test_the_readme_s_links_are_absolute() -> None:
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"<(https?://[^>]+)>", text)
    assert targets
    relative = [target for target in targets if not target.startswith(ABSOLUTE)]
    assert not relative, relative


def test_the_readme_links_to_files_that_exist() -> None:
    text = (ROOT / "README.md").read_text()
    for prefix in ABSOLUTE[1:]:
        for path in re.findall(re.escape(prefix) + r"([^)\s#]+)", text):
            assert (ROOT / path).exists(), path


# -- the site builds strictly, and every page is in its navigation -------------------------


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs dependency group is not installed")
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "getting-started" / "index.html").exists()
