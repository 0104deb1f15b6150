"""Several `imb` commands run in one process, each through `broker.cli.main` exactly as the
`imb` script calls it.

Setting up a partnership takes a dozen commands; as separate processes each pays Python's start
and IMB's imports (about a second) again. Tests whose subject is the commands themselves still
run each as its own process; fixtures that only need the partnership in place run them here.

Reads a JSON list of commands on stdin, each an argv list or `{"argv": [...], "stdin": "..."}`
for a command that reads its standard input (`imb user add`'s password). An argument `$N.key`
stands for `key` of the JSON the N-th command printed (an agreement's id, say). Writes one JSON
list of `{"code", "stdout", "stderr"}` and stops at the first command that fails.
"""

import contextlib
import io
import json
import sys
from typing import Any

from broker.cli import main


def _resolved(argv: list[str], done: list[dict[str, Any]]) -> list[str]:
    def one(arg: str) -> str:
        if not arg.startswith("$"):
            return arg
        index, key = arg[1:].split(".", 1)
        return str(json.loads(done[int(index)]["stdout"])[key])

    return [one(arg) for arg in argv]


def _run(argv: list[str], stdin: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    sys.stdin = io.StringIO(stdin)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return {"code": code or 0, "stdout": out.getvalue(), "stderr": err.getvalue()}


def run_all(commands: list[list[str] | dict[str, Any]]) -> list[dict[str, Any]]:
    done: list[dict[str, Any]] = []
    for command in commands:
        argv, stdin = (
            (command, "") if isinstance(command, list) else (command["argv"], command["stdin"])
        )
        done.append(_run(_resolved(argv, done), stdin))
        if done[-1]["code"] != 0:
            break
    return done


if __name__ == "__main__":
    json.dump(run_all(json.load(sys.stdin)), sys.stdout)
