#!/usr/bin/env python3
"""Live fault benchmark: fedmon-agent at its shipped settings on this host.

Usage: bench/live-faults.py [--short] [--runs N] [--out DIR] [--build DIR]
                            [--keep] [--ci]
       bench/live-faults.py --analyse DIR

Run as root. One run starts fedmon-agent with configs/agent.conf (only its
paths redirected to a temporary state and runtime directory, and /metrics
to a free loopback port; --short also shortens the first training, see
SHORT_LEARN), records every sample with `fedmonctl watch --csv` (one
process, no fork per sample), plays a scripted background whose regime
changes (idle, build bursts of real compiles, a steady half-core load,
cron-like jobs every minute) before, during and after the first training,
then injects faults, each labelled with its start, end and the features it
should move: CPU saturation, memory pressure, a memory leak to OOM kills in
a memory-limited cgroup (v2, else v1), an I/O storm, a disk fill to 98% of
an ext4 loop mount, a fork storm, a TCP connection flood on 127.0.0.1 and
20,000 open files; and one fault (an I/O storm) injected while an unrelated
alarm (CPU saturation) is up. It stops by itself and removes everything it
started: processes, the cgroup, the mount, the loop device and its files.

Per fault it prints: detected (an alarm onset, i.e. the agent's alarm
counter rising, from the fault's start to 5 s after its end), the latency
(first onset minus the fault's start), the top three features at the onset
and whether one of the fault's expected features is among the top three of
a sample in the first 10 s of the onset (named), and the time from the
fault's end to the alarm clearing. Outside faults (model trained, not
within a fault or the 60 s after it): alarm onsets per hour and the
fraction of samples in alarm. Failure predictions, per label source with a
probability in the samples (the p_SOURCE columns of `fedmonctl watch
--csv`; an onset is its events_SOURCE counter rising): the Brier score
against "an onset within the run's horizon_minutes" (a sample whose
horizon runs past the end of the run counts only when an onset follows
within the run), beside the base rate's, and a reliability table (the
samples binned by probability: mean probability against the observed
frequency); and p(oom)'s lead time ahead of the oom-leak fault's first OOM
kill (the first sample at or above 0.5 within the horizon before it) and
whether it falls back below 0.2 within 5 minutes of the fault's end. With --runs N > 1 it prints the median over
the runs. DIR (default: a new bench-live-* directory under /var/tmp) gets,
per run, samples.csv (every 1 s sample with its regime and fault labels),
faults.csv (the labels), agent.conf, agent.log, and summary.json over all
runs. --analyse DIR prints the tables again from what the runs kept in
DIR (after a change to the analysis), starting nothing.

--short: about 9 minutes (first training after 120 s; faults of 20 s,
20 s apart); the full run takes about an hour (the shipped 600 s before
the first training; faults of 60 s, 180 s apart). --ci: exit 77 (skipped)
unless root, stress-ng, mkfs.ext4 and losetup are there and FEDMON_LIVE=1
is set (the run is long and loads the machine); with --short, CI's
shorter schedule (about 7.5 minutes: faults of 15 s, 15 s apart). Without
--ci, missing requirements are an error (exit 1).

Exit status: 0 when the run completed (whatever the agent detected), 1 on
an error, 77 skipped (--ci).
"""

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The [learn] keys the short run changes (and nothing else): the first
# training after 2 minutes instead of 10, retraining every 5 instead of 15.
SHORT_LEARN = {"min_train_seconds": "120", "retrain_seconds": "300"}

# fault kind -> (what it does, the features it should move: one of these in
# the top three is "named")
FAULTS = {
    "cpu": ("stress-ng --cpu 0: every core at 100%",
            ["cpu.user", "cpu.idle", "cpu.busiest_core", "proc.runnable",
             "psi.cpu.some", "load.1m"]),
    "memory": ("stress-ng --vm 1 --vm-bytes 30%: memory in use",
               ["mem.used", "mem.committed", "psi.memory.some",
                "psi.memory.full", "mem.alloc_stalls", "mem.major_faults"]),
    "oom-leak": ("a process leaking 16 MB/s in a 256 MB memory cgroup, "
                 "OOM-killed and restarted",
                 ["mem.oom_kills", "psi.memory.some", "psi.memory.full",
                  "mem.alloc_stalls"]),
    "io-storm": ("stress-ng --hdd 1 --iomix 1 on a file of a disk",
                 ["disk.write_bytes", "disk.write_ops", "disk.read_bytes",
                  "disk.read_ops", "disk.busiest_util", "disk.await",
                  "disk.queue", "psi.io.some", "psi.io.full", "cpu.iowait",
                  "mem.dirty", "proc.blocked"]),
    "disk-fill": ("an ext4 loop mount filled to 98%, emptied at the end",
                  ["fs.fullest"]),
    "fork-storm": ("stress-ng --fork 2: short-lived processes",
                   ["proc.forks", "proc.processes", "proc.threads"]),
    "socket-flood": ("400 TCP connections/s to a listener on 127.0.0.1",
                     ["tcp.active_opens", "tcp.passive_opens",
                      "tcp.established", "tcp.resets"]),
    "fd-exhaustion": ("one process holding 20,000 open files",
                      ["fd.used"]),
}
KINDS = list(FAULTS)

DETECT_GRACE = 5.0  # s after a fault's end an onset still counts
NAME_WINDOW = 10.0  # s after the onset in which the top three are read
QUIET_AFTER = 60.0  # s after a fault's end that are not "outside faults"
HORIZON_S = 1800.0  # [learn] horizon_minutes when agent.conf does not say
P_RISEN = 0.5       # p(oom) this high ahead of the leak's OOM kill: warned
P_FALLEN = 0.2      # and below this after the leak: fallen back
FALLBACK_S = 300.0  # within this after the leak's end
RELIABILITY_BINS = 10
LEAK_LIMIT = 256 << 20
LEAK_CHUNK = 4 << 20
LEAK_PERIOD = 0.25
FDS = 20000
FLOOD_RATE = 400
FILL_IMAGE = 256 << 20


class Stop(Exception):
    """SIGINT or SIGTERM: clean up and leave."""


def on_signal(sig, frame):
    raise Stop()


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)


# ---- the injectors run as child processes of this script -----------------


def inject_leak():
    """Leaks LEAK_CHUNK every LEAK_PERIOD (written, so resident)."""
    held = []
    while True:
        held.append(b"\x01" * LEAK_CHUNK)
        time.sleep(LEAK_PERIOD)


def inject_fds(n):
    """Holds n open files: raises its own RLIMIT_NOFILE to n and opens
    them; where it may not raise the hard limit (no CAP_SYS_RESOURCE, as
    in some containers), forks helpers in its process group that share
    the n files under the hard limit each."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
        per = n
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        per = hard - 64
    share = min(per, n)
    while n - share > 0:
        n -= share
        if os.fork() == 0:
            break
        share = min(per, n)
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(share)]
    assert len(fds) == share
    while True:
        time.sleep(3600)


def inject_flood(rate):
    """Connects rate times a second to a listener of its own on
    127.0.0.1; the listener closes first, so TIME_WAIT sits on the
    listener's side and the client's ephemeral ports are not used up."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)
    addr = srv.getsockname()

    def serve():
        while True:
            c, _ = srv.accept()
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    period = 1.0 / rate
    nxt = time.monotonic()
    while True:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            c.connect(addr)
            c.recv(1)
        except OSError:
            pass
        c.close()
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:
            nxt = time.monotonic()


# ---- the harness ----------------------------------------------------------


class Harness:
    """Everything one run started, so that cleanup() can undo it all."""

    def __init__(self, args, rundir, work):
        self.args = args
        self.rundir = rundir
        self.work = work
        self.procs = {}  # name -> Popen (own session: killed by group)
        self.threads = []
        self.stop_threads = threading.Event()
        self.cgroup = None
        self.cgroup_v = None
        self.loop = None
        self.mnt = None
        self.oom_kills = 0

    # processes
    def spawn(self, name, argv, preexec=None, **kw):
        assert name not in self.procs, name
        self.procs[name] = subprocess.Popen(
            argv, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=kw.pop("stdout", subprocess.DEVNULL),
            stderr=kw.pop("stderr", subprocess.DEVNULL),
            preexec_fn=preexec, **kw)
        return self.procs[name]

    def kill(self, name, sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p is None:
            return
        for s in (sig, signal.SIGKILL):
            try:
                os.killpg(p.pid, s)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        # the group may outlive its leader (stress-ng's workers)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # the memory cgroup for the leak
    def cgroup_setup(self):
        v2 = v1 = None
        with open("/proc/self/mounts") as f:
            for line in f:
                dev, mnt, typ, opts = line.split()[:4]
                if typ == "cgroup2" and v2 is None:
                    v2 = mnt
                elif typ == "cgroup" and "memory" in opts.split(",") \
                        and v1 is None:
                    v1 = mnt
        name = "fedmon-bench-%d" % os.getpid()
        if v2:
            try:
                with open(os.path.join(v2, "cgroup.controllers")) as f:
                    has = "memory" in f.read().split()
            except OSError:
                has = False
            if has:
                with open(os.path.join(v2, "cgroup.subtree_control"),
                          "w") as f:
                    f.write("+memory")
                path = os.path.join(v2, name)
                os.mkdir(path)
                self.cgroup, self.cgroup_v = path, 2
                with open(os.path.join(path, "memory.max"), "w") as f:
                    f.write(str(LEAK_LIMIT))
                try:
                    with open(os.path.join(path, "memory.swap.max"),
                              "w") as f:
                        f.write("0")
                except OSError:
                    pass
                return
        if not v1:
            raise RuntimeError("no cgroup v2 memory controller and no "
                               "cgroup v1 memory hierarchy")
        path = os.path.join(v1, name)
        os.mkdir(path)
        self.cgroup, self.cgroup_v = path, 1
        with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
            f.write(str(LEAK_LIMIT))

    def cgroup_oom_kills(self):
        fn = "memory.events" if self.cgroup_v == 2 else "memory.oom_control"
        try:
            with open(os.path.join(self.cgroup, fn)) as f:
                for line in f:
                    k, v = line.split()
                    if k == "oom_kill":
                        return int(v)
        except OSError:
            pass
        return None

    def cgroup_remove(self):
        if not self.cgroup:
            return
        for _ in range(50):
            try:
                os.rmdir(self.cgroup)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
        else:
            log("could not remove cgroup %s" % self.cgroup)
        self.cgroup = None

    # the ext4 loop mount for the disk fill
    def fill_setup(self):
        img = os.path.join(self.work, "fill.img")
        with open(img, "wb") as f:
            f.truncate(FILL_IMAGE)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", img],
                       check=True, stdout=subprocess.DEVNULL)
        self.loop = subprocess.run(
            ["losetup", "--find", "--show", img], check=True,
            capture_output=True, text=True).stdout.strip()
        mnt = os.path.join(self.work, "fill")
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "ext4", self.loop, mnt], check=True)
        self.mnt = mnt

    def fill_remove(self):
        if self.mnt:
            subprocess.run(["umount", self.mnt])
            self.mnt = None
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop])
            self.loop = None

    def cleanup(self):
        self.stop_threads.set()
        for t in self.threads:
            t.join(timeout=10)
        for name in list(self.procs):
            if name != "watch" and name != "agent":
                self.kill(name)
        self.kill("agent")
        self.kill("watch")
        self.cgroup_remove()
        self.fill_remove()


def agent_config(args, rundir):
    """configs/agent.conf with its paths redirected (and, short, the
    SHORT_LEARN keys); returns the changed keys, for the record."""
    changes = {
        "state_dir": os.path.join(rundir, "state"),
        "runtime_dir": os.path.join(rundir, "run"),
        "metrics_listen": "127.0.0.1:0",
    }
    if args.short:
        changes.update(SHORT_LEARN)
    out, seen = [], set()
    with open(os.path.join(REPO, "configs", "agent.conf")) as f:
        for line in f:
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.startswith(("#", ";")) \
                    and key in changes:
                line = "%s = %s\n" % (key, changes[key])
                seen.add(key)
            out.append(line)
    missing = set(changes) - seen
    if missing:
        raise RuntimeError("configs/agent.conf lacks %s" % sorted(missing))
    with open(os.path.join(rundir, "agent.conf"), "w") as f:
        f.writelines(out)
    return changes


def make_tree(path, files=24):
    """A small C tree with a Makefile: the build bursts compile it."""
    os.mkdir(path)
    objs = []
    for i in range(files):
        with open(os.path.join(path, "u%d.c" % i), "w") as f:
            f.write("#include <stdio.h>\n#include <stdlib.h>\n"
                    "#include <string.h>\n")
            for j in range(40):
                f.write(
                    "static int f%d(const char *s, int n) {\n"
                    "\tint h = %d;\n"
                    "\tfor (int k = 0; k < n && s[k]; k++)\n"
                    "\t\th = h * 31 + s[k] * %d;\n"
                    "\treturn h ^ (int)strlen(s);\n}\n" % (j, i, j + 1))
            f.write("int u%d(const char *s) {\n\tint h = 0;\n" % i)
            for j in range(40):
                f.write("\th += f%d(s, %d);\n" % (j, j))
            f.write("\treturn h;\n}\n")
        objs.append("u%d.o" % i)
    with open(os.path.join(path, "Makefile"), "w") as f:
        f.write("CFLAGS = -O2 -Wall\nall: lib.a\n"
                "lib.a: %s\n\tar rcs $@ $^\n"
                "clean:\n\trm -f *.o lib.a\n" % " ".join(objs))


# ---- the schedule ---------------------------------------------------------


def schedule(short, ci=False):
    """Returns (background segments, fault slots, cron period, end):
    segments are (start, regime, seconds); slots are (kind, start, seconds,
    gap after); the overlap slot is kind "overlap". Times in seconds from
    the agent's start. ci (with short): CI's shorter run, about 7.5
    minutes, faults of 15 s 15 s apart."""
    if short and ci:
        pre = [("idle", 20), ("build", 25), ("steady", 25), ("build", 20),
               ("idle", 20), ("steady", 20), ("build", 20)]
        fault_s, gap_s, seg_s, cron, tail = 15, 15, 30, 45, 0
    elif short:
        pre = [("idle", 25), ("build", 30), ("steady", 30), ("build", 25),
               ("idle", 25), ("steady", 30), ("build", 30)]
        fault_s, gap_s, seg_s, cron, tail = 20, 20, 40, 45, 0
    else:
        pre = [("idle", 150), ("build", 150), ("steady", 150),
               ("idle", 120), ("build", 180), ("steady", 150),
               ("idle", 150), ("build", 150)]
        fault_s, gap_s, seg_s, cron, tail = 60, 180, 150, 60, 300
    segs, t = [], 0
    for regime, s in pre:
        segs.append((t, regime, s))
        t += s
    slots = []
    for kind in KINDS:
        slots.append((kind, t, fault_s, gap_s))
        t += fault_s + gap_s
    slots.append(("overlap", t, fault_s, gap_s))
    # the overlap slot waits up to fault_s for the carrier's alarm
    t += 2 * fault_s + gap_s + tail
    cycle = ["steady", "build", "idle"]
    u, i = segs[-1][0] + segs[-1][2], 0
    while u < t:
        s = min(seg_s, t - u)
        segs.append((u, cycle[i % 3], s))
        u += s
        i += 1
    return segs, slots, cron, t


# ---- one run --------------------------------------------------------------


class Run:
    def __init__(self, args, index, outdir):
        self.args = args
        self.index = index
        self.rundir = os.path.join(outdir, "run-%d" % index)
        os.makedirs(self.rundir)
        self.work = tempfile.mkdtemp(prefix="fedmon-live-", dir="/var/tmp")
        self.h = Harness(args, self.rundir, self.work)
        self.t0 = None
        self.labels = []  # dicts: kind, name, start, end, during_alarm
        self.regimes = []  # (start, end, regime)
        self.watch_path = os.path.join(self.rundir, "watch.csv")

    def at(self, offset):
        """Sleeps until t0 + offset."""
        while True:
            d = self.t0 + offset - time.time()
            if d <= 0:
                return
            time.sleep(min(d, 0.5))

    def last_row(self):
        """The last sample watch wrote, as a dict, or None."""
        try:
            with open(self.watch_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 65536))
                lines = f.read().decode().splitlines()
        except OSError:
            return None
        if len(lines) < 2 or not lines[-1]:
            return None
        with open(self.watch_path) as f:
            head = f.readline().strip().split(",")
        return dict(zip(head, lines[-1].split(",")))

    # background
    def regime_start(self, regime):
        h = self.h
        if regime == "build":
            tree = os.path.join(self.work, "tree")
            # bursts: compile the tree, rest 8 s, again
            h.spawn("regime", ["sh", "-c",
                               "while :; do make -s -C '%s' clean all "
                               ">/dev/null 2>&1; sleep 8; done" % tree])
        elif regime == "steady":
            h.spawn("regime", ["stress-ng", "--cpu", "1", "--cpu-load",
                               "50", "--quiet"])

    def cron_loop(self, period):
        tgz = os.path.join(self.work, "cron.tgz")
        nxt = time.time() + 20
        while not self.h.stop_threads.wait(max(0, nxt - time.time())):
            p = subprocess.Popen(
                ["sh", "-c", "tar -cf - /usr/include 2>/dev/null | "
                 "gzip -1 >'%s'; rm -f '%s'" % (tgz, tgz)],
                start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            while p.poll() is None:
                if self.h.stop_threads.wait(0.5):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                    return
            nxt += period

    def background(self, segs):
        for start, regime, s in segs:
            if self.h.stop_threads.is_set():
                return
            while time.time() < self.t0 + start:
                if self.h.stop_threads.wait(0.5):
                    return
            self.h.kill("regime")
            self.regime_start(regime)
            self.regimes.append((self.t0 + start, self.t0 + start + s,
                                 regime))

    # faults
    def fault_start(self, kind):
        h, py = self.h, [sys.executable, os.path.abspath(__file__)]
        if kind == "cpu":
            h.spawn(kind, ["stress-ng", "--cpu", "0", "--quiet"])
        elif kind == "memory":
            h.spawn(kind, ["stress-ng", "--vm", "1", "--vm-bytes", "30%",
                           "--vm-keep", "--quiet"])
        elif kind == "io-storm":
            d = os.path.join(self.work, "io")
            os.makedirs(d, exist_ok=True)
            h.spawn(kind, ["stress-ng", "--hdd", "1", "--hdd-bytes", "256M",
                           "--iomix", "1", "--iomix-bytes", "128M",
                           "--temp-path", d, "--quiet"])
        elif kind == "fork-storm":
            h.spawn(kind, ["stress-ng", "--fork", "2", "--quiet"])
        elif kind == "socket-flood":
            h.spawn(kind, py + ["--inject-flood", str(FLOOD_RATE)])
        elif kind == "fd-exhaustion":
            h.spawn(kind, py + ["--inject-fds", str(FDS)])
        elif kind == "oom-leak":
            t = threading.Thread(target=self.leak_loop, daemon=True)
            self.leak_stop = threading.Event()
            self.leak_thread = t
            t.start()
        elif kind == "disk-fill":
            self.fill_stop = threading.Event()
            t = threading.Thread(target=self.fill_loop, daemon=True)
            self.fill_thread = t
            t.start()

    def fault_stop(self, kind):
        if kind == "oom-leak":
            self.leak_stop.set()
            self.leak_thread.join()
        elif kind == "disk-fill":
            self.fill_stop.set()
            self.fill_thread.join()
        else:
            self.h.kill(kind)

    def leak_loop(self):
        cg = self.h.cgroup
        procs = os.path.join(cg, "cgroup.procs")
        py = [sys.executable, os.path.abspath(__file__), "--inject-leak"]

        def enter():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

        before = self.h.cgroup_oom_kills() or 0
        while not self.leak_stop.is_set():
            p = self.h.spawn("leak", py, preexec=enter)
            while p.poll() is None and not self.leak_stop.wait(0.2):
                pass
            self.h.kill("leak")
        after = self.h.cgroup_oom_kills()
        self.h.oom_kills += (after or 0) - before

    def fill_loop(self):
        """Fills the loop mount to 98% over about a third of the fault,
        holds it, and empties it at the fault's end."""
        path = os.path.join(self.h.mnt, "fill.bin")
        st = os.statvfs(self.h.mnt)
        total = st.f_blocks * st.f_frsize
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        want = int(0.98 * total) - used
        chunk = 1 << 20
        steps = max(1, want // chunk)
        pace = self.fault_seconds / 3.0 / steps
        buf = b"\xa5" * chunk
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for _ in range(steps):
                if self.fill_stop.wait(pace):
                    break
                os.write(fd, buf)
                os.fsync(fd)
            self.fill_stop.wait()
        finally:
            os.close(fd)
            os.unlink(path)

    def alarm_up(self):
        r = self.last_row()
        return bool(r) and r.get("alarm") == "1"

    def inject(self, kind, seconds, note=""):
        start = time.time()
        up = self.alarm_up()
        log("fault %s for %d s%s" % (kind, seconds, note))
        self.fault_start(kind)
        try:
            time.sleep(seconds)
        finally:
            self.fault_stop(kind)
        self.labels.append({"kind": kind, "name": kind + note.replace(
            " ", "-"), "start": start, "end": time.time(),
            "alarm_at_start": up})

    def overlap(self, seconds):
        """CPU saturation (the unrelated alarm); once its alarm is up (or
        after `seconds`), an I/O storm for `seconds`; both end together."""
        start = time.time()
        log("carrier cpu: waiting up to %d s for its alarm" % seconds)
        self.fault_start("cpu")
        while time.time() < start + seconds and not self.alarm_up():
            time.sleep(0.5)
        self.inject("io-storm", seconds, " during-alarm")
        self.fault_stop("cpu")
        end = time.time()
        self.labels.append({"kind": "cpu", "name": "cpu-carrier",
                            "start": start, "end": end,
                            "alarm_at_start": False, "carrier": True})

    def wait_socket(self, timeout=30):
        sock = os.path.join(self.rundir, "run", "control.sock")
        end = time.time() + timeout
        while time.time() < end:
            if os.path.exists(sock):
                return
            if self.h.procs["agent"].poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("the agent did not open its control socket "
                           "(see %s/agent.log)" % self.rundir)

    def run(self):
        args, h = self.args, self.h
        changes = agent_config(args, self.rundir)
        make_tree(os.path.join(self.work, "tree"))
        h.cgroup_setup()
        h.fill_setup()
        segs, slots, cron, end = schedule(args.short, args.ci)
        self.fault_seconds = slots[0][2]
        agent = os.path.join(args.build, "agent", "fedmon-agent")
        ctl = os.path.join(args.build, "ctl", "fedmonctl")
        alog = open(os.path.join(self.rundir, "agent.log"), "w")
        log("run %d: agent %s, %s cgroup v%d %s, fill %s on %s, about %d "
            "min" % (self.index, agent, "short," if args.short else "",
                     h.cgroup_v, h.cgroup, h.mnt, h.loop, end // 60))
        self.t0 = time.time()
        h.spawn("agent", [agent, "-c",
                          os.path.join(self.rundir, "agent.conf")],
                stdout=alog, stderr=alog)
        self.wait_socket()
        wout = open(self.watch_path, "w")
        werr = open(os.path.join(self.rundir, "watch.err"), "w")
        h.spawn("watch", [ctl, "--runtime-dir",
                          os.path.join(self.rundir, "run"), "watch",
                          "--csv"], stdout=wout, stderr=werr)
        t = threading.Thread(target=self.background, args=(segs,),
                             daemon=True)
        h.threads.append(t)
        t.start()
        t = threading.Thread(target=self.cron_loop, args=(cron,),
                             daemon=True)
        h.threads.append(t)
        t.start()
        for kind, start, s, gap in slots:
            self.at(start)
            if kind == "overlap":
                self.overlap(s)
            else:
                self.inject(kind, s)
        self.at(end)
        log("run %d: done, cleaning up" % self.index)
        return changes

    def finish(self):
        """Cleans up, then writes samples.csv (watch's rows with regime and
        fault labels) and faults.csv; returns the rows as dicts."""
        self.h.cleanup()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
            for d in ("state", "run"):
                shutil.rmtree(os.path.join(self.rundir, d),
                              ignore_errors=True)
        rows = []
        if not os.path.exists(self.watch_path):
            return rows
        with open(self.watch_path) as f:
            rows = list(csv.DictReader(f))
        fields = None
        with open(os.path.join(self.rundir, "samples.csv"), "w") as f:
            w = None
            for r in rows:
                t = float(r["time"])
                r["regime"] = next((g for a, b, g in self.regimes
                                    if a <= t < b), "")
                r["faults"] = ";".join(lb["name"] for lb in self.labels
                                       if lb["start"] <= t < lb["end"])
                exp = []
                for lb in self.labels:
                    if lb["start"] <= t < lb["end"]:
                        exp += [x for x in FAULTS[lb["kind"]][1]
                                if x not in exp]
                r["expected"] = ";".join(exp)
                if w is None:
                    fields = list(r)
                    w = csv.DictWriter(f, fieldnames=fields)
                    w.writeheader()
                w.writerow(r)
        with open(os.path.join(self.rundir, "faults.csv"), "w") as f:
            w = csv.writer(f)
            w.writerow(["name", "kind", "start", "end", "alarm_at_start",
                        "expected", "what"])
            for lb in self.labels:
                w.writerow([lb["name"], lb["kind"], "%.3f" % lb["start"],
                            "%.3f" % lb["end"], int(lb["alarm_at_start"]),
                            ";".join(FAULTS[lb["kind"]][1]),
                            FAULTS[lb["kind"]][0]])
        os.remove(self.watch_path)
        return rows


# ---- analysis -------------------------------------------------------------


def top3(row):
    out = []
    for item in (row.get("top_features") or "").split(";"):
        if "=" in item:
            out.append(item.split("=")[0])
    return out[:3]


def analyse(rows, labels, oom_kills, horizon=HORIZON_S):
    """Per fault and outside faults, from the samples and the labels;
    the failure predictions against onsets within horizon seconds."""
    samples = []
    prev = None
    for r in rows:
        if r["ready"] != "1":
            prev = None
            continue
        # events: alarms raised and new faults during one (agents
        # before 0.3 record only alarms)
        a = int(r.get("events") or r["alarms"])
        onset = prev is not None and a > prev
        prev = a
        samples.append((float(r["time"]), r["alarm"] == "1", onset,
                        top3(r)))
    starts = sorted(lb["start"] for lb in labels)
    out = {"faults": [], "samples": len(rows),
           "missed_samples": 0, "oom_kills": oom_kills}
    n = [int(r["sample"]) for r in rows]
    out["missed_samples"] = sum(b - a - 1 for a, b in zip(n, n[1:])
                                if b > a)
    for lb in labels:
        s, e = lb["start"], lb["end"]
        exp = FAULTS[lb["kind"]][1]
        res = {"name": lb["name"], "kind": lb["kind"],
               "duration": round(e - s, 1),
               "alarm_at_start": lb["alarm_at_start"],
               "carrier": lb.get("carrier", False), "detected": False,
               "latency": None, "top3": [], "named": False,
               "clear": None, "cleared": None}
        on = next((x for x in samples if s <= x[0] <= e + DETECT_GRACE
                   and x[2]), None)
        if on:
            res["detected"] = True
            res["latency"] = round(on[0] - s, 1)
            res["top3"] = on[3]
            res["named"] = any(
                f in exp for x in samples
                if on[0] <= x[0] <= min(on[0] + NAME_WINDOW,
                                        e + DETECT_GRACE) and x[1]
                for f in x[3])
        nxt = min([t for t in starts if t > e] + [float("inf")])
        at_end = [x for x in samples if x[0] <= e]
        if at_end and at_end[-1][1]:
            clr = next((x for x in samples if x[0] > e and not x[1]), None)
            if clr and clr[0] < nxt:
                res["clear"], res["cleared"] = round(clr[0] - e, 1), True
            else:
                lim = min(nxt, samples[-1][0]) if samples else e
                res["clear"], res["cleared"] = round(lim - e, 1), False
        out["faults"].append(res)
    quiet = [x for x in samples
             if not any(lb["start"] <= x[0] <= lb["end"] + QUIET_AFTER
                        for lb in labels)]
    hours = len(quiet) / 3600.0
    out["quiet_seconds"] = len(quiet)
    out["quiet_onsets"] = sum(1 for x in quiet if x[2])
    out["onsets_per_hour"] = (round(out["quiet_onsets"] / hours, 2)
                              if hours else None)
    out["alarm_fraction"] = (round(sum(1 for x in quiet if x[1])
                                   / len(quiet), 4) if quiet else None)
    out["horizon"] = horizon
    out["calibration"] = {s: calibration(rows, s, horizon)
                          for s in sources_of(rows)}
    out["oom_lead"] = oom_lead(rows, labels, horizon)
    return out


def run_horizon(rundir):
    """[learn] horizon_minutes of the run's agent.conf, in seconds."""
    section = None
    try:
        with open(os.path.join(rundir, "agent.conf")) as f:
            for line in f:
                line = line.split("#")[0].strip()
                if line.startswith("["):
                    section = line.strip("[]").strip()
                elif section == "learn" and "=" in line:
                    k, v = (x.strip() for x in line.split("=", 1))
                    if k == "horizon_minutes" and v.isdigit():
                        return 60.0 * int(v)
    except OSError:
        pass
    return HORIZON_S


def sources_of(rows):
    """The label sources the samples carry a probability column for."""
    if not rows:
        return []
    return [k[2:] for k in rows[0]
            if k.startswith("p_") and "events_" + k[2:] in rows[0]]


def fnum(v):
    """A CSV cell as a float, None when empty or not a finite number."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def onset_times(rows, src):
    """The times at which the source's events counter rose."""
    out, prev = [], None
    for r in rows:
        e = fnum(r.get("events_" + src))
        if e is None:
            continue
        if prev is not None and e > prev:
            out.append(float(r["time"]))
        prev = e
    return out


def calibration(rows, src, horizon):
    """Brier score and reliability table of p_src against an onset of
    src within (t, t + horizon], over the samples with a probability."""
    onsets = onset_times(rows, src)
    end = float(rows[-1]["time"]) if rows else 0.0
    pairs = []
    for r in rows:
        p = fnum(r.get("p_" + src))
        if p is None:
            continue
        t = float(r["time"])
        y = any(t < o <= t + horizon for o in onsets)
        if not y and t + horizon > end:
            continue  # the run ended before the horizon did
        pairs.append((p, 1.0 if y else 0.0))
    if not pairs:
        return None
    n = len(pairs)
    rate = sum(y for _, y in pairs) / n
    table = []
    for b in range(RELIABILITY_BINS):
        lo, hi = b / RELIABILITY_BINS, (b + 1) / RELIABILITY_BINS
        inb = [(p, y) for p, y in pairs
               if lo <= p < hi or (b == RELIABILITY_BINS - 1 and p == hi)]
        if inb:
            table.append({"bin": [lo, hi], "n": len(inb),
                          "mean_p": round(sum(p for p, _ in inb)
                                          / len(inb), 4),
                          "observed": round(sum(y for _, y in inb)
                                            / len(inb), 4)})
    return {"samples": n, "onsets": len(onsets),
            "positive_rate": round(rate, 4),
            "brier": round(sum((p - y) ** 2 for p, y in pairs) / n, 5),
            "brier_base": round(sum((rate - y) ** 2 for _, y in pairs) / n,
                                5),
            "table": table}


def oom_lead(rows, labels, horizon):
    """p(oom) around the oom-leak fault: the lead of its first sample at
    or above P_RISEN within the horizon before the fault's first OOM kill,
    and the time after the fault's end to its first sample below
    P_FALLEN (within FALLBACK_S)."""
    leak = next((lb for lb in labels if lb["kind"] == "oom-leak"), None)
    if leak is None or not rows or "p_oom" not in rows[0]:
        return None
    out = {"first_oom": None, "lead": None, "fell_back": None,
           "fall_time": None}
    first = next((o for o in onset_times(rows, "oom")
                  if leak["start"] <= o <= leak["end"] + DETECT_GRACE),
                 None)
    if first is not None:
        out["first_oom"] = round(first - leak["start"], 1)
        rise = next((float(r["time"]) for r in rows
                     if first - horizon <= float(r["time"]) < first and
                     (fnum(r["p_oom"]) or 0.0) >= P_RISEN), None)
        if rise is not None:
            out["lead"] = round(first - rise, 1)
    after = [(float(r["time"]), fnum(r["p_oom"])) for r in rows
             if leak["end"] < float(r["time"]) <= leak["end"] + FALLBACK_S]
    if after:
        low = next((t for t, p in after if p is None or p < P_FALLEN), None)
        out["fell_back"] = low is not None
        if low is not None:
            out["fall_time"] = round(low - leak["end"], 1)
    return out


def print_predictions(res):
    for src, c in sorted((res.get("calibration") or {}).items()):
        if c is None:
            print("p(%s): no probability in the samples" % src)
            continue
        print("p(%s): %d samples, %d onsets, %.4f of them within the "
              "horizon; Brier %.5f (the base rate's %.5f)" % (
                  src, c["samples"], c["onsets"], c["positive_rate"],
                  c["brier"], c["brier_base"]))
        print("  %-11s %7s %8s %8s" % ("p", "samples", "mean p",
                                       "observed"))
        for b in c["table"]:
            print("  %-11s %7d %8.3f %8.3f" % (
                "%.1f-%.1f" % tuple(b["bin"]), b["n"], b["mean_p"],
                b["observed"]))
    lead = res.get("oom_lead")
    if lead:
        print("p(oom) in oom-leak: first OOM kill %s; p >= %.1f %s ahead; "
              "below %.1f after the leak: %s" % (
                  "-" if lead["first_oom"] is None
                  else "%.1f s after its start" % lead["first_oom"],
                  P_RISEN,
                  "never" if lead["lead"] is None
                  else "%.0f s" % lead["lead"],
                  P_FALLEN,
                  "-" if lead["fell_back"] is None
                  else ("after %.0f s" % lead["fall_time"]
                        if lead["fell_back"]
                        else "not within %.0f s" % FALLBACK_S)))


def fmt_fault(r):
    clear = "-"
    if r["clear"] is not None:
        clear = ("%.0f s" if r["cleared"] else ">%.0f s") % r["clear"]
    return "%-28s %-8s %-8s %-8s %-5s %-7s %s" % (
        r["name"], "yes" if r["detected"] else "no",
        "yes" if r["alarm_at_start"] else "no",
        "%.1f s" % r["latency"] if r["latency"] is not None else "-",
        "yes" if r["named"] else "no", clear,
        ",".join(r["top3"]) or "-")


def print_run(i, res):
    print("run %d: %d samples (%d missed), %d OOM kills in the cgroup" % (
        i, res["samples"], res["missed_samples"], res["oom_kills"]))
    print("%-28s %-8s %-8s %-8s %-5s %-7s %s" % (
        "fault", "detected", "alarm-up", "latency", "named", "clear",
        "top 3 at onset"))
    for r in res["faults"]:
        print(fmt_fault(r))
    print("outside faults: %d s, %d alarm onsets (%s per hour), %s of the "
          "time in alarm" % (
              res["quiet_seconds"], res["quiet_onsets"],
              res["onsets_per_hour"],
              "-" if res["alarm_fraction"] is None
              else "%.1f%%" % (100 * res["alarm_fraction"])))
    k = [r for r in res["faults"] if not r["carrier"]
         and r["name"] in KINDS]
    print("fault kinds detected: %d of %d; named (right feature in the top "
          "3): %d of %d" % (sum(r["detected"] for r in k), len(k),
                            sum(r["detected"] and r["named"] for r in k),
                            len(k)))
    print_predictions(res)


def median_or_none(v, digits=2):
    v = [x for x in v if x is not None]
    return round(statistics.median(v), digits) if v else None


def brier_of(res, src):
    c = (res.get("calibration") or {}).get(src)
    return c["brier"] if c else None


def summarise(results):
    """Medians over runs, per fault name and outside faults."""
    names = [r["name"] for r in results[0]["faults"]]
    per = []
    for name in names:
        rs = [f for res in results for f in res["faults"]
              if f["name"] == name]
        per.append({
            "name": name, "runs": len(rs),
            "detected": sum(f["detected"] for f in rs),
            "named": sum(f["detected"] and f["named"] for f in rs),
            "latency_median": median_or_none([f["latency"] for f in rs]),
            "clear_median": median_or_none(
                [f["clear"] for f in rs if f["cleared"]]),
            "not_cleared": sum(f["cleared"] is False for f in rs),
        })
    return {
        "runs": len(results), "faults": per,
        "onsets_per_hour_median": median_or_none(
            [r["onsets_per_hour"] for r in results]),
        "alarm_fraction_median": median_or_none(
            [r["alarm_fraction"] for r in results], 4),
        "brier_median": {
            s: median_or_none([brier_of(r, s) for r in results], 5)
            for s in (results[0].get("calibration") or {})},
        "oom_lead_median": median_or_none(
            [(r.get("oom_lead") or {}).get("lead") for r in results], 1),
    }


def print_summary(s):
    print("median over %d runs:" % s["runs"])
    print("%-28s %-9s %-9s %-8s %s" % ("fault", "detected", "named",
                                       "latency", "clear"))
    for f in s["faults"]:
        print("%-28s %-9s %-9s %-8s %s" % (
            f["name"], "%d/%d" % (f["detected"], f["runs"]),
            "%d/%d" % (f["named"], f["runs"]),
            "-" if f["latency_median"] is None
            else "%.1f s" % f["latency_median"],
            ("-" if f["clear_median"] is None
             else "%.0f s" % f["clear_median"])
            + (" (%d not cleared)" % f["not_cleared"]
               if f["not_cleared"] else "")))
    print("outside faults: %s alarm onsets per hour, %s of the time in "
          "alarm" % (s["onsets_per_hour_median"],
                     "-" if s["alarm_fraction_median"] is None
                     else "%.1f%%" % (100 * s["alarm_fraction_median"])))
    print("Brier score: %s; p(oom)'s lead ahead of the leak's OOM kill: %s"
          % (", ".join("%s %s" % (k, "-" if v is None else v) for k, v in
                       sorted(s.get("brier_median", {}).items())) or "-",
             "-" if s.get("oom_lead_median") is None
             else "%.0f s" % s["oom_lead_median"]))


def load_run(rundir):
    """The rows and labels a run kept (samples.csv, faults.csv)."""
    with open(os.path.join(rundir, "samples.csv")) as f:
        rows = list(csv.DictReader(f))
    labels = []
    with open(os.path.join(rundir, "faults.csv")) as f:
        for r in csv.DictReader(f):
            labels.append({"kind": r["kind"], "name": r["name"],
                           "start": float(r["start"]),
                           "end": float(r["end"]),
                           "alarm_at_start": r["alarm_at_start"] == "1",
                           "carrier": r["name"].endswith("-carrier")})
    return rows, labels


def reanalyse(outdir):
    """--analyse: the tables again from what the runs in outdir kept."""
    with open(os.path.join(outdir, "summary.json")) as f:
        old = json.load(f)
    results = []
    for i, prev in enumerate(old.get("runs", []), 1):
        rows, labels = load_run(os.path.join(outdir, "run-%d" % i))
        rundir = os.path.join(outdir, "run-%d" % i)
        res = analyse(rows, labels, prev.get("oom_kills", 0),
                      run_horizon(rundir))
        results.append(res)
        print_run(i, res)
    if len(results) > 1:
        print_summary(summarise(results))
    return 0 if results else 1


# ---- main -----------------------------------------------------------------


def missing_requirements():
    why = []
    if os.geteuid() != 0:
        why.append("not root")
    for tool in ("stress-ng", "mkfs.ext4", "losetup", "make", "cc"):
        if not shutil.which(tool):
            why.append("%s missing" % tool)
    return why


def main():
    ap = argparse.ArgumentParser(
        description="Live fault benchmark for fedmon-agent (see the "
        "module docstring and bench/README.md).")
    ap.add_argument("--short", action="store_true",
                    help="about 9 minutes (first training after 120 s)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--out", help="results directory (default: a new "
                    "/var/tmp/bench-live-* directory)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the build directory (default: build)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch files and the agent's state "
                    "(the mount, loop device, cgroup and processes go all "
                    "the same)")
    ap.add_argument("--analyse", metavar="DIR",
                    help="print the tables again from the samples and "
                    "labels an earlier run kept in DIR (runs nothing)")
    ap.add_argument("--ci", action="store_true",
                    help="exit 77 unless FEDMON_LIVE=1 and the "
                    "requirements are met; with --short, CI's schedule "
                    "(about 7.5 minutes)")
    ap.add_argument("--inject-leak", action="store_true",
                    help=argparse.SUPPRESS)
    ap.add_argument("--inject-fds", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--inject-flood", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inject_leak:
        inject_leak()
    if args.inject_fds:
        inject_fds(args.inject_fds)
    if args.inject_flood:
        inject_flood(args.inject_flood)
    if args.analyse:
        return reanalyse(args.analyse)

    why = missing_requirements()
    if args.ci and os.environ.get("FEDMON_LIVE") != "1":
        why.append("FEDMON_LIVE=1 not set")
    if why:
        print("live-faults: skipped: %s" % ", ".join(why), file=sys.stderr)
        return 77 if args.ci else 1
    for b in ("agent/fedmon-agent", "ctl/fedmonctl"):
        if not os.access(os.path.join(args.build, b), os.X_OK):
            print("live-faults: no %s in %s (build first)" % (b, args.build),
                  file=sys.stderr)
            return 1
    if args.runs < 1:
        ap.error("--runs wants at least 1")
    outdir = args.out or tempfile.mkdtemp(prefix="bench-live-",
                                          dir="/var/tmp")
    os.makedirs(outdir, exist_ok=True)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("live-faults: %s, %d run%s, results in %s" % (
        "short" if args.short else "full", args.runs,
        "" if args.runs == 1 else "s", outdir), flush=True)
    results, changes, status = [], None, 0
    for i in range(1, args.runs + 1):
        run = Run(args, i, outdir)
        try:
            changes = run.run()
        except Stop:
            log("stopped by a signal")
            status = 1
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            log("run %d failed: %s" % (i, e))
            status = 1
        finally:
            # a second signal must not cut the cleanup short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            rows = run.finish()
            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
        if status:
            break
        res = analyse(rows, run.labels, run.h.oom_kills,
                      run_horizon(run.rundir))
        results.append(res)
        print_run(i, res)
        sys.stdout.flush()
    summary = {"short": args.short, "config_changes": changes,
               "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
               "host": os.uname().nodename, "cpus": os.cpu_count(),
               "runs": results}
    if results:
        summary["median"] = summarise(results)
        if len(results) > 1:
            print_summary(summary["median"])
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("live-faults: samples, labels and summary.json in %s" % outdir)
    return status


if __name__ == "__main__":
    sys.exit(main())
