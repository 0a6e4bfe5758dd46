"""The README's Python example runs as written and prints what the README shows."""

import contextlib
import io
import os
import re

from conftest import REPO


def test_readme_example(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme.split("## From Python", 1)[1]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
    at = [language for language, _ in blocks].index("python")
    code, shown = blocks[at][1], blocks[at + 1][1]
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the example writes model.synthad
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert printed.getvalue() == shown
    assert (tmp_path / "model.synthad").is_file()
