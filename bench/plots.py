"""PNG charts for the results doc. Runs under bench/.venv-stack (matplotlib lives there, not in
the gateway's venv): `python -m bench.plots SPEC.json OUT.png`, SPEC from bench.report."""

from __future__ import annotations

import json
import sys
from typing import Any

import matplotlib  # type: ignore[import-not-found]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found]


def bars(spec: dict[str, Any], out: str) -> None:
    groups: list[str] = spec["groups"]
    series: dict[str, list[float]] = spec["series"]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [v if v == v and v > 0 else 0 for v in values], width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    if spec.get("log"):
        ax.set_yscale("log")
    ax.set_ylabel(spec["ylabel"])
    ax.set_title(spec["title"])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def soak(spec: dict[str, Any], out: str) -> None:
    t = [s["t"] for s in spec["series"]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    top.plot(t, [s["rss_mb"] for s in spec["series"]], color="tab:blue")
    top.set_ylabel("RSS (MB)")
    top.set_ylim(bottom=0)
    top.set_title(spec["title"])
    top.grid(alpha=0.3)
    bottom.plot(t, [s["fds"] for s in spec["series"]], color="tab:orange")
    bottom.set_ylabel("open fds")
    bottom.set_ylim(bottom=0)
    bottom.set_xlabel("seconds")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    {"bars": bars, "soak": soak}[spec["kind"]](spec, sys.argv[2])


if __name__ == "__main__":
    main()
