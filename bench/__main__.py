"""CLI: `python -m bench run [--quick] [--scenarios ...] [--with-litellm] [--repetitions 3]`,
`python -m bench soak --seconds N`, `python -m bench profile --scenario chat-c1`,
`python -m bench stack`, `python -m bench install-litellm`, `python -m bench install-plots`."""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from bench.targets import LITELLM_VENV, ROOT

RESULTS = ROOT / "bench" / "results"
LITELLM_PIN = "1.108.7"   # known-good; 1.82.7 and 1.82.8 were compromised on PyPI


def _save(name: str, data: object) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, default=str))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / "raw").mkdir(exist_ok=True)
    (RESULTS / "raw" / f"{name}-{stamp}.json").write_text(path.read_text())
    return path


def cmd_run(args: argparse.Namespace) -> None:
    from bench import report, runner, targets

    opts = runner.Options(quick=args.quick, scenarios=tuple(args.scenarios or ()),
                          with_litellm=args.with_litellm,
                          repetitions=1 if args.quick and args.repetitions is None
                          else args.repetitions or 3,
                          postgres=not args.no_postgres, scaling=not args.no_scaling,
                          profile=not args.quick and not args.no_profile,
                          variants=tuple(args.variants or ()),
                          baseline=Path(args.baseline_src) if args.baseline_src else None)
    data = runner.run(opts)
    data["machine"] = report.machine()
    data["litellm_version"] = targets.litellm_version() if args.with_litellm else "-"
    print("saved", _save("quick" if args.quick else "run", data))
    if not args.quick:
        report.write_all(RESULTS)


def cmd_report(args: argparse.Namespace) -> None:
    from bench import report

    report.write_all(RESULTS)
    stack = RESULTS / "stack.json"
    if stack.exists():
        report.write_stack(json.loads(stack.read_text()))


def cmd_soak(args: argparse.Namespace) -> None:
    from bench import report, soak

    data = soak.run(args.seconds, args.rate)
    data["machine"] = report.machine()
    print("saved", _save("soak", data))
    if args.write:
        report.write_all(RESULTS)


def cmd_stack(args: argparse.Namespace) -> None:
    from bench import report, stack

    data = stack.run(quick=args.quick)
    data["machine"] = report.machine()
    print("saved", _save("stack", data))
    report.write_stack(data)


def cmd_profile(args: argparse.Namespace) -> None:
    from bench import profile

    summary = profile.run(args.scenario, args.seconds, not args.no_limits, Path(args.out))
    for kind in ("self", "portico_inclusive"):
        print(f"-- {kind} ({summary.get('samples')} samples)")
        for frame, pct in summary.get(kind, []):
            print(f"{pct:5.1f}  {frame}")
    print("collapsed stacks in", args.out)


def cmd_install_litellm(args: argparse.Namespace) -> None:
    if not (LITELLM_VENV / "bin" / "python").exists():
        subprocess.run(["python3", "-m", "venv", str(LITELLM_VENV)], check=True)
    subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q",
                    f"litellm[proxy]=={args.version}"], check=True)


def cmd_install_plots(args: argparse.Namespace) -> None:
    """matplotlib for the charts, in bench/.venv-stack (kept out of Portico's own venv)."""
    from bench.report import STACK_PY

    venv = STACK_PY.parents[1]
    if not STACK_PY.exists():
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                    f"matplotlib=={args.version}"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="scenarios against direct, Portico (and LiteLLM)")
    run.add_argument("--quick", action="store_true", help="short windows, 1 repetition (<2 min)")
    run.add_argument("--scenarios", nargs="*", help="subset, e.g. chat-c64 stream-c16")
    run.add_argument("--with-litellm", action="store_true")
    run.add_argument("--repetitions", type=int, default=None)
    run.add_argument("--no-postgres", action="store_true")
    run.add_argument("--no-scaling", action="store_true")
    run.add_argument("--no-profile", action="store_true")
    run.add_argument("--variants", nargs="*", choices=("pii-patterns", "pii-model", "no-limits"),
                     help="extra Portico endpoints: PII masking (patterns / spaCy model), "
                          "the SQLite pipeline without any limit (for comparison)")
    run.add_argument("--baseline-src", default=None,
                     help="a `src` directory (e.g. from `git archive REV src`) run as an extra "
                          "SQLite endpoint, portico-sqlite-baseline, for a before/after A/B")
    run.set_defaults(func=cmd_run)
    soak = sub.add_parser("soak", help="steady rate, RSS and open fds over time")
    soak.add_argument("--seconds", type=int, default=600)
    soak.add_argument("--rate", type=float, default=500.0, help="requests per second")
    soak.add_argument("--write", action="store_true", help="also rewrite docs/benchmarks.md")
    soak.set_defaults(func=cmd_soak)
    stack = sub.add_parser("stack", help="stack-choice microbenchmarks")
    stack.add_argument("--quick", action="store_true")
    stack.set_defaults(func=cmd_stack)
    rep = sub.add_parser("report", help="rewrite the docs from bench/results/*.json")
    rep.set_defaults(func=cmd_report)
    prof = sub.add_parser("profile", help="py-spy one scenario against portico-sqlite")
    prof.add_argument("--scenario", default="chat-c1")
    prof.add_argument("--seconds", type=float, default=10.0)
    prof.add_argument("--no-limits", action="store_true")
    prof.add_argument("--out", default="/tmp/portico-profile.txt")
    prof.set_defaults(func=cmd_profile)
    inst = sub.add_parser("install-litellm", help="LiteLLM proxy into bench/.venv-litellm")
    inst.add_argument("--version", default=LITELLM_PIN)
    inst.set_defaults(func=cmd_install_litellm)
    plots = sub.add_parser("install-plots", help="matplotlib into bench/.venv-stack (charts)")
    plots.add_argument("--version", default="3.11.2")
    plots.set_defaults(func=cmd_install_plots)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
