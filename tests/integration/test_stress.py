"""Parallel create/start/exec/logs/rm loops with a kill -9 of arcad in the middle.

The issue's full run (20 clients for 5 minutes) is bench/stress.py; CI runs a short one
(ARCA_STRESS_CLIENTS, ARCA_STRESS_SECONDS).
"""
import os

from parallel_clients import run_stress


def test_parallel_clients_survive_kill9(arcad):
    clients = int(os.environ.get("ARCA_STRESS_CLIENTS", "6"))
    seconds = int(os.environ.get("ARCA_STRESS_SECONDS", "60"))
    answered, failures, loops, lost = run_stress(arcad, clients, seconds, kill_at=seconds / 2)
    assert not failures, failures[:5]
    assert not lost, f"container records lost across kill -9: {lost}"
    assert loops >= clients  # every client got through at least one whole loop
    assert answered > 0
