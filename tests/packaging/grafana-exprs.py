#!/usr/bin/env python3
"""Checks a Grafana dashboard shipped in packaging/grafana/ and prints
every PromQL expression it holds as a Prometheus recording-rules file, for
`promtool check rules` (test-grafana-dashboards.sh).

The dashboard must parse as JSON, have a schemaVersion of 36 to 39, a
datasource variable DS_PROMETHEUS (type prometheus) that every panel,
query and query variable uses, unique panel ids, panels inside the 24
columns, and at least one non-empty query per panel. The expressions are
the panels' target exprs and the query variables' label_values()
selectors, with Grafana's interval variables ($__rate_interval,
$__interval, $__range) replaced by durations; other variables ($instance)
are only used inside label matcher strings, where PromQL takes them as
they are.

usage: grafana-exprs.py DASHBOARD.json > rules.yml
Exit 0 with the rules on stdout, 1 with the problems on stderr."""

import json
import re
import sys

DS_UID = "${DS_PROMETHEUS}"
INTERVALS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}

problems = []


def problem(text):
    problems.append(text)


def promql(expr):
    """expr with Grafana's interval variables replaced by durations."""
    for var, dur in INTERVALS.items():
        expr = expr.replace(var, dur)
    return expr


def uses_ds(where, ds):
    if not isinstance(ds, dict) or ds.get("uid") != DS_UID:
        problem(f"{where}: datasource is {ds!r}, not {DS_UID}")


def main():
    path = sys.argv[1]
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1

    if not 36 <= dash.get("schemaVersion", 0) <= 39:
        problem(f"schemaVersion {dash.get('schemaVersion')} not 36 to 39")
    if not dash.get("uid") or not dash.get("title"):
        problem("no uid or title")

    exprs = []  # (where, expr)
    variables = dash.get("templating", {}).get("list", [])
    ds_vars = [v for v in variables if v.get("name") == "DS_PROMETHEUS"]
    if (len(ds_vars) != 1 or ds_vars[0].get("type") != "datasource" or
            ds_vars[0].get("query") != "prometheus"):
        problem("no datasource variable DS_PROMETHEUS of type prometheus")
    for v in variables:
        if v.get("type") != "query":
            continue
        where = f"variable {v.get('name')}"
        uses_ds(where, v.get("datasource"))
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"label_values\((.+),\s*([a-zA-Z_]\w*)\)", q or "")
        if not m:
            problem(f"{where}: not label_values(SELECTOR, LABEL): {q!r}")
            continue
        exprs.append((where, m.group(1)))

    ids = set()
    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))  # a collapsed row's
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            problem(f"{where}: id used twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24:
            problem(f"{where}: wider than 24 columns")
        if p.get("type") == "row":
            continue
        uses_ds(where, p.get("datasource"))
        targets = p.get("targets", [])
        if not targets:
            problem(f"{where}: no query")
        for t in targets:
            uses_ds(f"{where} {t.get('refId')}", t.get("datasource"))
            if not t.get("expr", "").strip():
                problem(f"{where} {t.get('refId')}: empty expr")
                continue
            exprs.append((f"{where} {t.get('refId')}", t["expr"]))

    if not exprs:
        problem("no expressions")
    if problems:
        for text in problems:
            print(f"{path}: {text}", file=sys.stderr)
        return 1

    # One recording rule per expression; the comment says where it is.
    print("groups:\n  - name: dashboard\n    rules:")
    for i, (where, expr) in enumerate(exprs):
        print(f"      # {where}")
        print(f"      - record: dashboard:expr_{i}")
        print(f"        expr: {json.dumps(promql(expr))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
