"""`make bench BENCH_ARGS="--baseline-ref main"`: today's code beside this code, in the same run.

Figures of one run are only comparable with figures of the same run on this shared machine (a day
can be three times slower than another). So the bench can run the code of another git ref too: it
checks the ref out into a temporary worktree (`git worktree add --detach`), migrates a database of
its own (the bench database's name + `_baseline`, created when missing and kept for the next run,
so its practice is seeded once) with that code's migrations, and runs that code's own
`python -m bench` with the same sizes (`--relations`, `--iterations`, `--ledger-debtors`), without
the concurrent part. Its single-request and ledger tables are then printed beside this run's:
the import database stage, the push, the list and the search, each code on its own schema.

The baseline runs first and alone, then this code's stages: never both at once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import environ

from bench.database import ensure_database

ROOT = Path(__file__).resolve().parent.parent
PAGE_ROW = re.compile(
    r"^(?P<name>\S.*?)\s{2,}(?P<p50>[\d.]+)\s+(?P<p95>[\d.]+)\s+(?P<q>\d+)\s+\d+$"
)
LEDGER_ROW = re.compile(r"^\| (?P<name>[^|]+?) \| (?P<value>[\d,.]+(?: MiB)?) \|")


@dataclass
class Baseline:
    ref: str
    commit: str
    output: str = ""
    pages: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    ledger: dict[str, str] = field(default_factory=dict)


def baseline_url(url: str) -> str:
    """The bench database's URL with `_baseline` after its name."""
    name = environ.Env.db_url_config(url)["NAME"]
    head, sep, query = url.partition("?")
    assert head.endswith(name), url
    return f"{head}_baseline{sep}{query}"


def parse_pages(text: str) -> dict[str, tuple[float, float, int]]:
    rows = {}
    for line in text.splitlines():
        if match := PAGE_ROW.match(line):
            rows[match["name"]] = (float(match["p50"]), float(match["p95"]), int(match["q"]))
    return rows


def parse_ledger(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        if match := LEDGER_ROW.match(line):
            rows[match["name"]] = match["value"]
    return rows


def _git(*args: str) -> str:
    return subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def run(ref: str, args: Any, *, stdout: Any = None) -> Baseline:
    """The bench of `ref`, as this run's options ask, on the baseline database."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    url = baseline_url(os.environ["DATABASE_URL"])
    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url}
    options = ["--relations", str(args.relations), "--iterations", str(args.iterations)]
    options += ["--ledger-debtors", str(args.ledger_debtors), "--practice", args.practice]
    if args.bulk_iterations:
        options += ["--bulk-iterations", str(args.bulk_iterations)]
    if args.no_admin:
        options.append("--no-admin")
    if args.ledger_only:
        options.append("--ledger-only")
    if stdout is not None:
        stdout.write(f"Baseline: {ref} ({commit[:10]}) in a temporary worktree ...")
    with tempfile.TemporaryDirectory(prefix="kring-baseline-") as parent:
        tree = Path(parent) / "tree"
        _git("worktree", "add", "--detach", str(tree), commit)
        try:
            # The worktree's code first on the path (cwd), whatever the virtualenv installed.
            env["PYTHONPATH"] = str(tree)
            python = sys.executable
            for step in (
                [python, "manage.py", "migrate", "--no-input", "-v0"],
                [python, "-m", "bench", *options],
            ):
                done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
                    step, cwd=tree, env=env, capture_output=True, text=True, check=False
                )
                if done.returncode:
                    raise RuntimeError(
                        f"baseline {' '.join(step[1:])} failed:\n{done.stdout[-3000:]}"
                        f"{done.stderr[-3000:]}"
                    )
            output = done.stdout
        finally:
            _git("worktree", "remove", "--force", str(tree))
    baseline = Baseline(ref=ref, commit=commit, output=output)
    baseline.pages = parse_pages(output)
    baseline.ledger = parse_ledger(output)
    return baseline


def side_by_side(baseline: Baseline, ledger_table: str, pages_table: str, ref: str) -> str:
    """The two runs' figures, row by row: the baseline's, then this code's."""
    label = f"{ref} ({baseline.commit[:10]})"
    lines = [
        f"Side by side, same run: {label} | this code",
        "",
        f"| ledger | {label} per second | this code per second |",
        "|---|---:|---:|",
    ]
    ours = parse_ledger(ledger_table)
    for name in dict.fromkeys([*baseline.ledger, *ours]):
        lines.append(f"| {name} | {baseline.ledger.get(name, '-')} | {ours.get(name, '-')} |")
    mine = parse_pages(pages_table)
    if mine or baseline.pages:
        lines += [
            "",
            f"| page | {label} p50 / p95 ms | this code p50 / p95 ms | queries (then / now) |",
            "|---|---:|---:|---:|",
        ]
        for name in dict.fromkeys([*baseline.pages, *mine]):
            then, now = baseline.pages.get(name), mine.get(name)
            lines.append(
                f"| {name} | {f'{then[0]:.1f} / {then[1]:.1f}' if then else '-'} "
                f"| {f'{now[0]:.1f} / {now[1]:.1f}' if now else '-'} "
                f"| {then[2] if then else '-'} / {now[2] if now else '-'} |"
            )
    return "\n".join(lines)
