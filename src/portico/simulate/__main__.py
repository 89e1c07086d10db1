"""`python -m portico.simulate --dialect openai --port 8900`: serve a simulated upstream."""

from __future__ import annotations

import argparse

from portico.simulate.runner import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portico simulate", description=__doc__)
    parser.add_argument("--dialect", choices=("openai", "anthropic", "gemini"), required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    serve(args.dialect, args.host, args.port, seed=args.seed)


if __name__ == "__main__":
    main()
