"""The table in a real terminal (tmux) at 80 and 200 columns: every line fits, a long result wraps
under its own text (a hanging indent, never under the status symbol), failures come first with their
fix and docs link; into a pipe the same results are one line each."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ..conftest import _unavailable

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"


def capture(columns: int) -> list[str]:
    if not shutil.which("tmux"):
        _unavailable("tmux is not installed (tests/run.sh installs it)")
    session = f"argodoctor-{uuid.uuid4().hex[:8]}"
    done = f"/tmp/{session}.done"
    command = (f"{sys.executable} -m argodoctor check --snapshot {EXAMPLE}; echo $? > {done}")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(columns), "-y", "200",
                    "-e", "NO_COLOR=1", command + "; sleep 30"], check=True)
    try:
        for _ in range(300):
            if Path(done).exists():
                break
            time.sleep(0.1)
        assert Path(done).read_text().strip() == "1"
        # the command has exited, but tmux may not have drawn its last output yet: wait for the summary line
        for _ in range(100):
            out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session, "-S", "-200"], capture_output=True,
                                 text=True, check=True).stdout
            if " exempt, " in out:
                break
            time.sleep(0.05)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
        Path(done).unlink(missing_ok=True)
    return [line.rstrip() for line in out.splitlines()]


@pytest.mark.parametrize("columns", [80, 200])
def test_the_table_wraps_to_the_terminal_with_a_hanging_indent(columns):
    lines = capture(columns)
    assert lines and all(len(line) <= columns for line in lines), max(lines, key=len)
    text = "\n".join(lines)
    assert "✖ AD203 artifact-secret-resolves team-a Secret/minio" in text
    start = next(i for i, line in enumerate(lines) if "✖ AD203" in line)
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("    "):
            break
        block.append(line)
    joined = " ".join(x.strip() for x in [lines[start], *block])
    # the whole result, its fix and its docs link, every continuation indented past the symbol
    assert "must exist in the workflow's own namespace" in joined
    assert "fix: argodoctor fix copy-artifact-secret" in joined
    # a link longer than the line folds: its pieces, put back together, are the link
    assert "docs:https://github.com/argodoctor/argodoctor/blob/main/docs/checks.md#ad203" in "".join(
        x.strip() for x in block)
    if columns == 80:
        assert len(block) >= 3  # wrapped
    assert "✖" in lines[lines.index("artifacts") + 1]  # failures first in their group


def test_into_a_pipe_each_result_is_one_line(cli):
    _, out, _ = cli("check", "--snapshot", EXAMPLE)
    [line] = [line for line in out.splitlines() if "AD203" in line and "✖" in line]
    assert line.startswith("  ✖ AD203") and line.endswith("in the workflow's own namespace")
