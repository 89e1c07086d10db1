"""Simulated upstreams speaking each provider's wire format, with fault injection per request."""

from portico.simulate.app import SimApp, build_app
from portico.simulate.faults import Fault, FaultQueue, FaultRule, parse_fault
from portico.simulate.ledger import Ledger, LedgerEntry
from portico.simulate.runner import Simulator, serve

__all__ = [
    "Fault",
    "FaultQueue",
    "FaultRule",
    "Ledger",
    "LedgerEntry",
    "SimApp",
    "Simulator",
    "build_app",
    "parse_fault",
    "serve",
]
