"""Entry point of the ``kubectl-kruise`` plugin (``kubectl kruise rollout ...``).

The ``rollout`` command group and ``describe rollout`` are implemented. Global flags (``-n``, ``--kubeconfig``,
``--context``) are accepted before or after the verb, as kubectl does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TextIO

from rollouts.cli import commands, describe, history
from rollouts.cli.api import ApiFailure, ApiNotFound, KubeRolloutApi, RolloutApi
from rollouts.cli.kubeconfig import ResolvedConfig, resolve
from rollouts.cli.target import TargetError, parse_target

ApiFactory = Callable[[ResolvedConfig], Awaitable[RolloutApi]]
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def parse_duration(text: str) -> float:
    """Go-style duration ("0", "90s", "5m", "1h30m", "500ms") in seconds."""
    if text in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        value, unit = float(match.group(1)), match.group(2)
        total += value * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
        pos = match.end()
    if pos != len(text):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (examples: 0, 30s, 5m, 1h)")
    return total


def _global_flags(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a flag given at one level is not reset by the other level's default.
    parser.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="namespace (default: from context)")
    parser.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="path to the kubeconfig file")
    parser.add_argument("--context", default=argparse.SUPPRESS, help="kubeconfig context to use")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubectl-kruise", description="OpenKruise kubectl plugin (rollouts)")
    _global_flags(parser)
    groups = parser.add_subparsers(dest="group", required=True)
    rollout = groups.add_parser("rollout", help="manage Kruise Rollouts")
    _global_flags(rollout)
    verbs = rollout.add_subparsers(dest="verb", required=True)
    helps = {
        "approve": "approve the current step of a paused rollout (StepPaused -> StepReady)",
        "pause": "pause a rollout (spec.strategy.paused=true)",
        "resume": "resume a paused rollout (spec.strategy.paused=false)",
        "undo": "roll the workload back to a previous revision",
        "status": "watch a rollout until it completes",
        "history": "list the releases of a rollout (RolloutHistory), or show one with --revision/--rollout-id",
    }
    for verb, text in helps.items():
        p = verbs.add_parser(verb, help=text)
        _global_flags(p)
        p.add_argument(
            "resource", nargs="+", help="rollout/NAME (also rollouts/NAME, rollout.rollouts.kruise.io/NAME, NAME)"
        )
        if verb == "undo":
            p.add_argument("--to-revision", type=int, default=0, help="revision to roll back to (0: previous)")
        if verb == "status":
            p.add_argument("-w", "--watch", default="true", choices=["true", "false"], help="keep watching")
            p.add_argument("--timeout", type=parse_duration, default=0.0, help="give up after this long (0: never)")
        if verb == "history":
            p.add_argument("--revision", type=int, default=0, help="show this release in detail (1 = oldest)")
            p.add_argument("--rollout-id", default="", help="show the release with this rollout-id in detail")
    describe = groups.add_parser("describe", help="show a live view of a Kruise Rollout")
    _global_flags(describe)
    kinds = describe.add_subparsers(dest="verb", required=True)
    d = kinds.add_parser("rollout", help="steps, pods, traffic, conditions and events of a rollout")
    _global_flags(d)
    d.add_argument("name", help="NAME (or rollout/NAME)")
    d.add_argument("-w", "--watch", action="store_true", help="print the view again whenever it changes")
    return parser


def _require_kubeconfig(cfg: ResolvedConfig) -> None:
    """Fail early with a fixable message instead of a client library traceback."""
    if not cfg.path or not os.path.exists(cfg.path):
        raise commands.CommandError(
            f"no kubeconfig found at {cfg.path!r}; pass --kubeconfig, set KUBECONFIG or create ~/.kube/config"
        )


async def _default_api(cfg: ResolvedConfig) -> RolloutApi:
    try:
        return await KubeRolloutApi.connect(cfg.path, context=cfg.context)
    except Exception as exc:  # any kubeconfig/connection problem is a user-facing error
        raise commands.CommandError(f"cannot use kubeconfig {cfg.path!r} (context {cfg.context!r}): {exc}") from exc


async def run(args: argparse.Namespace, cfg: ResolvedConfig, api_factory: ApiFactory, out: TextIO) -> None:
    if args.group == "describe":
        target = parse_target([args.name])
        api = await api_factory(cfg)
        try:
            await describe.describe(api, cfg.namespace, target.name, out, watch=args.watch,
                                    now=lambda: datetime.now(UTC))
        except ApiNotFound as exc:
            raise commands.CommandError(
                f'rollouts.rollouts.kruise.io "{target.name}" not found in namespace "{cfg.namespace}"'
            ) from exc
        finally:
            await api.close()
        return
    allowed = frozenset({"Rollout", "Deployment"}) if args.verb == "undo" else frozenset({"Rollout"})
    target = parse_target(args.resource, allowed=allowed)
    api = await api_factory(cfg)
    try:
        ns = cfg.namespace
        if args.verb == "approve":
            await commands.approve(api, ns, target, out)
        elif args.verb in ("pause", "resume"):
            await commands.set_paused(api, ns, target, args.verb == "pause", out)
        elif args.verb == "undo":
            await commands.undo(api, ns, target, args.to_revision, out)
        elif args.verb == "status":
            await commands.watch_status(api, ns, target, out, watch=args.watch == "true", timeout_seconds=args.timeout)
        elif args.verb == "history":
            await history.history(api, ns, target, out, revision=args.revision, rollout_id=args.rollout_id)
    finally:
        await api.close()


def main(
    argv: list[str] | None = None,
    *,
    api_factory: ApiFactory | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Console-script entry; returns the exit code (0 ok, 1 error, 2 usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve(
            kubeconfig=getattr(args, "kubeconfig", None),
            context=getattr(args, "context", None),
            namespace=getattr(args, "namespace", None),
        )
        if api_factory is None:
            _require_kubeconfig(cfg)
        asyncio.run(run(args, cfg, api_factory or _default_api, out))
    except (commands.CommandError, history.HistoryError, TargetError, ApiFailure) as exc:
        print(f"error: {exc}", file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
