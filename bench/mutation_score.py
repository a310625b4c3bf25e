"""Print the share of mutants killed, per mutated directory, from mutmut's stored results.

Run after ``mutmut run`` (``make mutation`` does both). It reads ``mutmut results --all true`` — one
line ``<module>.<mangled function>__mutmut_<n>: <status>`` per mutant — and groups the mutants by
the directory their module lives in. Why a script: mutmut prints one total; the goal (≥ 90 %) is
tracked per directory, because the Rollout step machine and the release arithmetic deserve
separate figures.

Score = (killed + timeout) / (mutants checked), like mutmut's own badge: a mutant that makes the
tests hang is caught. "not checked" mutants (a partial run) are left out of the denominator and
counted separately, so a sample reports honestly what was run.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path

DIRECTORIES = ("rollouts/rollout", "rollouts/release", "webhooks/workload")
CAUGHT = {"killed", "timeout"}
UNCHECKED = {"not checked", "skipped"}
GOAL = 90.0


def parse_results(text: str) -> list[tuple[str, str]]:
    """``(mutant name, status)`` pairs from ``mutmut results --all true``."""
    out = []
    for line in text.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            out.append((name, status))
    return out


def directory_of(mutant: str) -> str:
    """``rollouts.rollout.machine.x_settle__mutmut_3`` → ``rollouts/rollout``."""
    dotted = mutant.replace(".", "/")
    return next((d for d in DIRECTORIES if dotted.startswith(d + "/")), "other")


def module_of(mutant: str) -> str:
    """``rollouts.rollout.machine.x_settle__mutmut_3`` → ``rollouts/rollout/machine.py``."""
    parts = mutant.split(".")
    for i in range(len(parts) - 1, 0, -1):
        for candidate in (Path(*parts[:i]).with_suffix(".py"), Path(*parts[:i], "__init__.py")):
            if candidate.exists():
                return str(candidate)
    return ".".join(parts[:-1])


def table(results: list[tuple[str, str]], key) -> dict[str, collections.Counter]:
    groups: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, status in results:
        groups[key(name)][status] += 1
    return dict(sorted(groups.items()))


def score_line(label: str, counts: collections.Counter) -> str:
    checked = sum(n for s, n in counts.items() if s not in UNCHECKED)
    caught = sum(counts[s] for s in CAUGHT)
    pct = 100.0 * caught / checked if checked else 0.0
    rest = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()) if s not in CAUGHT and n)
    return f"{label:<42} {caught:>5}/{checked:<5} {pct:6.1f}%  {rest}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-file", action="store_true", help="also print one line per mutated file")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    args = parser.parse_args(argv)
    mutmut = Path(sys.executable).with_name("mutmut")
    text = subprocess.run([str(mutmut), "results", "--all", "true"], check=True, capture_output=True,
                          text=True).stdout
    results = parse_results(text)
    if not results:
        print("no mutmut results: run `mutmut run` first", file=sys.stderr)
        return 1
    print(f"{'directory':<42} {'caught/checked':>11}  score   (goal ≥ {GOAL:.0f}%)")
    for label, counts in table(results, directory_of).items():
        print(score_line(label, counts))
    print(score_line("all", collections.Counter(s for _, s in results)))
    if args.per_file:
        print()
        for label, counts in table(results, module_of).items():
            print(score_line(label, counts))
    if args.survivors:
        print()
        for name, status in results:
            if status not in CAUGHT | UNCHECKED:
                print(f"{status:>10}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
