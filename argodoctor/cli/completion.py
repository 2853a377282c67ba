"""Shell completion scripts (`argodoctor completion bash|zsh|fish`), generated from the argument
parser itself, so they offer exactly the commands and flags this version has, plus check and
remediation ids where a command takes them."""
from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterator

from ..engine import registry
from .parser import build_parser

SHELLS = ("bash", "zsh", "fish")


def _commands(p: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                      argparse.ArgumentParser]]:
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def _options(p: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in p._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _words(path: tuple[str, ...], checks: list[str], remediations: list[str]) -> list[str]:
    """The positional words a command takes."""
    if path == ("fix",):
        return remediations + checks
    if path == ("explain",):
        return checks
    return []


def script(shell: str, parser: argparse.ArgumentParser, checks: list[str], remediations: list[str]) -> str:
    if shell == "fish":
        return _fish(parser, checks, remediations)
    return _bash(parser, checks, remediations, zsh=shell == "zsh")


def _bash(parser: argparse.ArgumentParser, checks: list[str], remediations: list[str], zsh: bool) -> str:
    cases = []
    for path, p in _commands(parser):
        subs = [c for c, q in _commands(p) if len(c) == 1]
        opts = [s for a in _options(p) for s in a.option_strings]
        values = [f"{s}) COMPREPLY=($(compgen -W {shlex.quote(' '.join(a.choices))} -- \"$cur\")); return;;"
                  for a in _options(p) if a.choices for s in a.option_strings]
        words = " ".join([*(s[0] for s in subs), *_words(path, checks, remediations)])
        cases.append(f"""    {shlex.quote(' '.join(path)) if path else '""'})
      case "$prev" in
        {' '.join(values) if values else ''}
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W {shlex.quote(' '.join(opts))} -- "$cur"))
      else COMPREPLY=($(compgen -W {shlex.quote(words)} -- "$cur")); fi;;""")
    nested = " ".join(" ".join(c) for c, _ in _commands(parser) if len(c) == 2)
    head = "autoload -U +X bashcompinit && bashcompinit\n" if zsh else ""
    shell = "zsh" if zsh else "bash"
    top = " ".join(c[0] for c, _ in _commands(parser) if len(c) == 1)
    return f"""# argodoctor completion for {shell}: source <(argodoctor completion {shell})
{head}_argodoctor() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${{COMP_WORDS[i]}}"
    [[ "$w" == -* ]] && continue
    if [[ -z "$path" ]]; then case " {top} " in *" $w "*) path="$w";; esac
    elif [[ " {nested} " == *" $path $w "* ]]; then path="$path $w"; fi
  done
  case "$path" in
{chr(10).join(cases)}
  esac
}}
complete -o default -F _argodoctor argodoctor kubectl-argodoctor
"""


def _fish(parser: argparse.ArgumentParser, checks: list[str], remediations: list[str]) -> str:
    lines = ["# argodoctor completion for fish: argodoctor completion fish | source"]
    top = [c[0] for c, _ in _commands(parser) if len(c) == 1]
    for path, p in _commands(parser):
        if not path:
            cond = "__fish_use_subcommand"
        elif len(path) == 1:
            cond = f"__fish_seen_subcommand_from {path[0]}"
        else:
            cond = f"__fish_seen_subcommand_from {path[0]}; and __fish_seen_subcommand_from {path[1]}"
        if len(path) == 1 and any(len(c) == 2 and c[0] == path[0] for c, _ in _commands(parser)):
            subs = [c[1] for c, _ in _commands(parser) if len(c) == 2 and c[0] == path[0]]
            lines.append(f"complete -c argodoctor -f -n '{cond}; and not __fish_seen_subcommand_from "
                         f"{' '.join(subs)}' -a {shlex.quote(' '.join(subs))}")
        if not path:
            lines.append(f"complete -c argodoctor -f -n '{cond}' -a {shlex.quote(' '.join(top))}")
        for a in _options(p):
            flags = " ".join(f"-l {s[2:]}" if s.startswith("--") else f"-s {s[1:]}" for s in a.option_strings)
            extra = f" -x -a {shlex.quote(' '.join(a.choices))}" if a.choices else (" -r" if a.nargs != 0 else "")
            desc = (a.help or "").split(";")[0].split("(")[0].strip().replace("'", "")[:60]
            lines.append(f"complete -c argodoctor -n '{cond}' {flags}{extra} -d {shlex.quote(desc)}")
        words = _words(path, checks, remediations)
        if words:
            lines.append(f"complete -c argodoctor -f -n '{cond}' -a {shlex.quote(' '.join(words))}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    checks = [c.id for c in registry.all_checks()]
    rems = [r.id for r in registry.all_remediations()]
    sys.stdout.write(script(args.shell, build_parser(), checks, rems))
    return 0
