#!/usr/bin/python3
"""The demo fleet: one fedmon-aggregator and several fedmon-agents on loopback.

usage: tools/demo-fleet.py [--build DIR] [--agents N] [--rounds R]
                           [--timeout SECS] [--dir DIR] [--keep]

Generates a key pair for the aggregator and for every agent (fedmonctl
keygen), enrols the agents' public keys in the aggregator's authorized-agents
file, pins the aggregator's key in every agent's config, and starts them all
on 127.0.0.1. The agents sample this host's real /proc five times a second,
train their detectors, and federate: R rounds of sealed updates over TCP.
Progress is printed as it happens; at the end every agent's state. Stops by
itself after the last round, or after --timeout seconds.

Exit status 0 only if every agent reached the last round's global model
(applied it to its own detector); 1 otherwise; 2 on a usage error.
Environment: FEDMON_DEMO_AGENTS, FEDMON_DEMO_ROUNDS, FEDMON_DEMO_TIMEOUT
set the defaults of the flags.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(ctl, path):
    out = subprocess.run([ctl, "keygen", path], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"demo-fleet: fedmonctl keygen failed: {out.stderr.strip()}")
    return out.stdout.strip()


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


class Log:
    """Follows a process's stderr file and remembers what matters."""

    def __init__(self, name, path):
        self.name, self.path, self.pos, self.lines = name, path, 0, []

    def poll(self):
        with open(self.path, errors="replace") as fh:
            fh.seek(self.pos)
            new = fh.read()
            self.pos = fh.tell()
        # only whole lines
        if new and not new.endswith("\n"):
            cut = new.rfind("\n") + 1
            self.pos -= len(new) - cut
            new = new[:cut]
        lines = [l for l in new.splitlines() if l]
        self.lines += lines
        return lines


def strip_prio(line):
    return re.sub(r"^<\d>", "", line)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.environ.get("FEDMON_BUILD_DIR", os.path.join(ROOT, "build")))
    p.add_argument("--agents", type=int, default=int(os.environ.get("FEDMON_DEMO_AGENTS", 3)))
    p.add_argument("--rounds", type=int, default=int(os.environ.get("FEDMON_DEMO_ROUNDS", 3)))
    p.add_argument("--timeout", type=int, default=int(os.environ.get("FEDMON_DEMO_TIMEOUT", 300)))
    p.add_argument("--dir", help="work directory (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args()
    if a.agents < 1 or a.rounds < 1 or a.timeout < 1:
        p.error("--agents, --rounds and --timeout must be at least 1")
    build = os.path.abspath(a.build)
    agg_bin = os.path.join(build, "aggregator/fedmon-aggregator")
    agent_bin = os.path.join(build, "agent/fedmon-agent")
    ctl = os.path.join(build, "ctl/fedmonctl")
    for b in (agg_bin, agent_bin, ctl):
        if not os.access(b, os.X_OK):
            sys.exit(f"demo-fleet: {b} is missing: build first (tools/dev setup)")
    work = a.dir or tempfile.mkdtemp(prefix="fedmon-demo-")
    os.makedirs(work, exist_ok=True)
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"

    # keys and enrolment, as an operator would do it
    agg_dir = os.path.join(work, "aggregator")
    os.makedirs(os.path.join(agg_dir, "state"), exist_ok=True)
    agg_pub = keygen(ctl, os.path.join(agg_dir, "aggregator.key"))
    enrolled = ["# fedmon authorized agents: one public key a line, then a label"]
    names = [f"agent-{i + 1}" for i in range(a.agents)]
    for n in names:
        d = os.path.join(work, n)
        os.makedirs(os.path.join(d, "state"), exist_ok=True)
        os.makedirs(os.path.join(d, "run"), exist_ok=True)
        pub = keygen(ctl, os.path.join(d, "state", "agent.key"))
        enrolled.append(f"{pub} {n}")
    write(os.path.join(agg_dir, "authorized_agents"), "\n".join(enrolled) + "\n")
    write(os.path.join(agg_dir, "aggregator.conf"), f"""# demo fleet aggregator
[aggregator]
listen = {url}
key_file = {agg_dir}/aggregator.key
authorized_agents = {agg_dir}/authorized_agents
state_dir = {agg_dir}/state

[round]
quorum = {a.agents}
min_updates = {a.agents}
deadline_ms = 120000
interval_ms = 2000
max_rounds = {a.rounds}
poll_ms = 1000
collect_poll_ms = 500

[train]
local_steps = 500
""")
    for n in names:
        d = os.path.join(work, n)
        write(os.path.join(d, "agent.conf"), f"""# demo fleet agent {n}
[agent]
interval_ms = 200
state_dir = {d}/state
runtime_dir = {d}/run
# several agents on one host: each picks a free port
metrics_listen = 127.0.0.1:0

[learn]
train_seconds = 120
min_train_seconds = 15
retrain_seconds = 600

[federation]
aggregator = {url}
aggregator_key = {agg_pub}
key_file = {d}/state/agent.key
retry_min_ms = 500
retry_max_ms = 4000
""")

    procs, logs = [], []

    def start(name, argv, logpath):
        fh = open(logpath, "w")
        procs.append((name, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=fh)))
        logs.append(Log(name, logpath))

    def stop_all():
        for _, pr in procs:
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
        for _, pr in procs:
            try:
                pr.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()

    print(f"==> demo fleet: 1 aggregator on {url}, {a.agents} agents, {a.rounds} rounds; "
          f"work directory {work}", flush=True)
    start("aggregator", [agg_bin, "--config", os.path.join(agg_dir, "aggregator.conf")],
          os.path.join(agg_dir, "aggregator.log"))
    for n in names:
        d = os.path.join(work, n)
        start(n, [agent_bin, "--config", os.path.join(d, "agent.conf")], os.path.join(d, "agent.log"))

    applied = {n: 0 for n in names}
    sent = {n: 0 for n in names}
    final = None
    ok = False
    deadline = time.monotonic() + a.timeout
    try:
        while time.monotonic() < deadline:
            time.sleep(0.2)
            for log in logs:
                for line in log.poll():
                    text = strip_prio(line)
                    m = re.search(r"Applied fleet model version (\d+)", text)
                    if m:
                        applied[log.name] = int(m.group(1))
                    if "Sent the update for round" in text:
                        sent[log.name] += 1
                    m = re.search(r"serving model version (\d+)", text)
                    if m and log.name == "aggregator":
                        final = int(m.group(1))
                    if re.search(r"(Round \d+ (open|closed)|Published|Reached max_rounds|"
                                  r"Applied fleet|Sent the update|Trained the models|"
                                  r"refused|Failed|[Ee]rror)", text):
                        print(f"  [{log.name:10s}] {text}", flush=True)
            dead = [name for name, pr in procs if pr.poll() is not None]
            if dead:
                print(f"demo-fleet: {', '.join(dead)} exited early; see the logs in {work}",
                      file=sys.stderr)
                break
            if final is not None and all(applied[n] == final for n in names):
                ok = True
                break
        else:
            print(f"demo-fleet: timed out after {a.timeout} s", file=sys.stderr)
        # what an operator sees on each host, over its control socket
        for n in names:
            print(f"==> fedmonctl status ({n})", flush=True)
            rundir = os.path.join(work, n, "run")
            subprocess.run([ctl, "--runtime-dir", rundir, "status"], timeout=20, check=False)
    finally:
        stop_all()
    for log in logs:
        log.poll()

    print("==> state of the fleet")
    print(f"  aggregator: last global model version {final if final is not None else 'none'}"
          f" after {a.rounds} rounds")
    for n in names:
        status = "reached the last global model" if final and applied[n] == final else "BEHIND"
        print(f"  {n}: sent {sent[n]} updates, applied fleet model version {applied[n]}: {status}")
    if not a.keep and not a.dir and ok:
        shutil.rmtree(work, ignore_errors=True)
    elif not ok:
        print(f"  logs kept in {work}")
    print("==> demo fleet " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
