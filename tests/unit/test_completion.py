"""`argodoctor completion`: the bash script, run by a real bash, completes commands, flags, values
and ids; the zsh one is the same script behind bashcompinit; the fish one names every command."""
from __future__ import annotations

import shutil
import subprocess

import pytest


def complete(script: str, words: list[str]) -> list[str]:
    """COMPREPLY for the command line `words` (the last word is the one being completed)."""
    line = " ".join(f"'{w}'" for w in words)
    program = f"""{script}
COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}
_argodoctor
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True).stdout
    return [w for w in out.splitlines() if w]


@pytest.fixture(scope="module")
def bash_script():
    from argodoctor.cli import build_parser
    from argodoctor.cli.completion import script
    from argodoctor.engine import registry

    return script("bash", build_parser(), [c.id for c in registry.all_checks()],
                  [r.id for r in registry.all_remediations()])


def test_bash_completes_commands_flags_values_and_ids(bash_script):
    assert "check" in complete(bash_script, ["argodoctor", ""])
    assert complete(bash_script, ["argodoctor", "c"]) == ["check", "cronjob", "completion"]
    assert complete(bash_script, ["argodoctor", "check", "--out"]) == ["--output", "--output-file"]
    assert "sarif" in complete(bash_script, ["argodoctor", "check", "-o", ""])
    assert complete(bash_script, ["argodoctor", "-v", "fix", "copy-"]) == ["copy-artifact-secret"]
    assert complete(bash_script, ["argodoctor", "explain", "AD20"])[:2] == ["AD201", "AD202"]
    assert complete(bash_script, ["argodoctor", "report", ""]) == ["show", "diff"]
    assert "--schedule" not in complete(bash_script, ["argodoctor", "cronjob", "uninstall", "--"])
    assert "--schedule" in complete(bash_script, ["argodoctor", "cronjob", "install", "--"])


def test_every_shell_gets_a_script(cli):
    for shell in ("bash", "zsh", "fish"):
        code, out, _ = cli("completion", shell)
        assert code == 0 and "argodoctor" in out and "explain" in out, shell
    _, zsh, _ = cli("completion", "zsh")
    assert zsh.splitlines()[1].startswith("autoload -U +X bashcompinit") and "complete -o default -F" in zsh
    _, fish, _ = cli("completion", "fish")
    assert "complete -c argodoctor -f -n '__fish_use_subcommand' -a 'check diagnose fix list" in fish
    assert "-l output -s o" in fish or "-s o -l output" in fish
    for shell, check in (("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])):
        if shutil.which(check[0]):  # syntax only, where the shell is installed
            _, text, _ = cli("completion", shell)
            subprocess.run([*check, "-c", text], check=True)
