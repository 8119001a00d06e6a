"""Every operationId of the pinned Engine API spec has a row in the one route
table (src/daemon/api/routes.c), served or answered as unsupported, and
docs/api-coverage.md lists each with its status."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "docs", "reference", "docker-engine-api-v1.51.yaml")


def spec_operations():
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    ops = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if isinstance(op, dict) and "operationId" in op:
                ops[op["operationId"]] = (method.upper(), path)
    return ops


def route_table():
    with open(os.path.join(ROOT, "src/daemon/api/routes.c")) as f:
        src = f.read()
    # { "METHOD", "/path", "OperationId", handler, flags } (a row may wrap after the handler)
    rows = re.findall(r'\{ "(\w+)", "([^"]+)", "(\w+)", (\w+),\s+[\w |]+ \}', src)
    return {op: (method, path, handler) for method, path, op, handler in rows}


def test_every_operation_has_a_route():
    spec, routes = spec_operations(), route_table()
    missing = sorted(set(spec) - set(routes))
    assert not missing, f"operations without a route: {missing}"
    for op, (method, path) in spec.items():
        assert routes[op][:2] == (method, path), f"{op}: route {routes[op][:2]} != spec {(method, path)}"


def test_handlers_are_named_after_operations():
    for op, (_, _, handler) in route_table().items():
        if handler in ("api_unsupported", "api_swarm_unsupported"):
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower()
        assert handler == "api_" + snake, f"{op} is handled by {handler}"


def test_coverage_doc_lists_every_operation():
    with open(os.path.join(ROOT, "docs/api-coverage.md")) as f:
        doc = f.read()
    rows = dict(re.findall(r"^\| `(\w+)` \|[^|]*\| (\w+) \|", doc, re.M))
    for op, (_, _, handler) in route_table().items():
        assert op in rows, f"{op} is missing from docs/api-coverage.md"
        want = {"api_unsupported": "unsupported",
                "api_swarm_unsupported": "swarm"}.get(handler, "served")
        assert rows[op] == want, f"{op}: the doc says {rows[op]}, the route table {want}"
