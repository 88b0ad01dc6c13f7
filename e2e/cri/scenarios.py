#!/usr/bin/env python3
"""logprobe on containerd's CRI, driven as the kubelet drives it (e2e/cri/run.sh runs this).

    scenarios.py --api DIR --dir DIR --platform OS/ARCH --pause ARCHIVE=TAG
                 --logprobe ARCHIVE=TAG --standin ARCHIVE=TAG --manifest NAME=FILE ...

Starts a private containerd (node.py), imports the images, and plays, side by
side, pods made from each --manifest's DaemonSet by kubelet.py:

  main       (every manifest) the pod as deploy/ renders it: healthy while benign;
             the one-shot start-up failure trips the next liveness run, the kubelet
             rotates the log right after the line, the restart comes after
             failureThreshold; the new container is healthy although 0.log* still
             holds the line; a liveness run that overruns timeoutSeconds is killed by
             containerd, and the next run is right, with the state intact.
  scaled     (9.x, 7.17) the retry loop and the silent stall, which persist for
             10 minutes before they trip: the liveness command gets the preset's
             loop rule and --max-stall scaled down (said in the output).
  crashloop  (9.x, 7.17) a start-up failure at every start: restarted exactly
             --max-restarts (3) times, then liveness holds it and readiness is
             NotReady with the reason.

Each check prints ok or FAIL; the timings (time to detect, time to restart) are
measured from the CRI record times containerd wrote. At the end everything is
torn down and that is checked too. Exit 1 if any check failed.
"""
import argparse
import datetime
import glob
import json
import os
import re
import signal
import sys
import threading
import time

import grpc

from kubelet import Pod
from node import Containerd

SCALE = 5  # periods, initial delays, back-off and the log manager's period, divided by it
LOOP_PERSIST, LOOP_GAP, MAX_STALL = 15, 4, 15  # the scaled pod's rule and --max-stall, in seconds
LOOP_EVERY = 1  # the stand-in's retry interval in the scaled pod, in seconds (Filebeat's: ~10)
ONE_SHOT = "add_kubernetes_metadata: could not detect kubernetes env"
LOOP = "Can only start an input when all related states are finished"
STALLED = '"active":4117'  # the stand-in's stalled metrics report


class Report:
    """The checks of one pod, printed together when it is done."""

    def __init__(self, title):
        self.title, self.lines, self.passed, self.failed, self.timings = title, [], 0, 0, []

    def check(self, name, ok, detail=""):
        self.lines.append(f"  {'ok' if ok else 'FAIL':<7} {name}{f' ({detail})' if detail else ''}")
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def note(self, text):
        self.lines.append(f"          {text}")

    def timing(self, scenario, detect, restart, expected):
        self.timings.append((scenario, detect, restart, expected))
        self.note(f"timing: {scenario}: detected {detect:.1f}s after the line ({expected}), "
                  f"restarted {restart:.1f}s after the first failing run")


def one_line(e):
    """An exception as one line: a gRPC error by its code and details."""
    if isinstance(e, grpc.RpcError):
        return f"{e.code().name}: {e.details()}"
    return f"{type(e).__name__}: {e}".replace("\n", " ")


def wait_until(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def record_time(line):
    """The time of a CRI record (`<RFC 3339 nanoseconds> <stream> <P|F> <text>`), in seconds."""
    stamp = line.split(" ", 1)[0]
    whole, frac = stamp.rstrip("Z").split(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + frac)


def first_record(pod, files, text):
    """(time, file, is it the file's last record) of the first stderr record holding TEXT."""
    for f in files:
        lines = pod.read(f).splitlines()
        for i, line in enumerate(lines):
            if " stderr " in line and text in line:
                return record_time(line), f, i == len(lines) - 1
    return None, None, None


def node_path(pod, path):
    """PATH as the container sees the node: /var/log/pods/..."""
    return "/" + os.path.relpath(path, pod.root)


def reads_pod_logs(out):
    return re.fullmatch(r"HEALTHY: no match in [0-9]+ new bytes of [1-9][0-9]* log files?", out) is not None


def probe_spec(pod, kind):
    (fb,) = [c for c in pod.spec["containers"] if c["name"] == "filebeat"]
    return fb[kind]


class Starve:
    """Makes one liveness run overrun timeoutSeconds, as on a node that stops
    scheduling the probe in the middle of its work.

    The stand-in has just logged a burst (100 000 lines), so the run has much to
    scan; the container's CPU is cut to 1% (UpdateContainerResources) for the run,
    which then scans for its whole --budget while holding the state's lock. Seen
    holding it (/proc/locks), the probe's process is stopped (SIGSTOP) and the CPU
    given back. Nothing but containerd's kill at timeoutSeconds (SIGKILL works on
    a stopped process) can end it."""

    def __init__(self, pod, log, state):
        self.pod, self.log, self.state, self.lock = pod, log, state, state + ".lock"
        self.size = os.path.getsize(log)
        self.state_before = self.state_after = None
        self.caught = None  # (pid, held the lock)
        self.done = threading.Event()

    def cgroup_procs(self, c):
        info = json.loads(self.pod.rt.ContainerStatus(
            self.pod.pb.ContainerStatusRequest(container_id=c.id, verbose=True), timeout=10).info["info"])
        path = info["runtimeSpec"]["linux"]["cgroupsPath"].lstrip("/")
        for base in ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup"):
            procs = os.path.join(base, path, "cgroup.procs")
            if os.path.exists(procs):
                return procs
        raise RuntimeError(f"no cgroup.procs for {path}")

    def resources(self, c, quota):
        pb = self.pod.pb
        self.pod.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=c.id, linux=pb.LinuxContainerResources(cpu_period=100000, cpu_quota=quota)), timeout=10)

    def before(self, c):
        """Called by the prober right before the run: waits for the burst to be on the
        node (containerd copies it), then cuts the CPU and starts watching."""
        wait_until(lambda: os.path.getsize(self.log) - self.size > 10_000_000, 10)
        self.state_before = self.pod.read(self.state)
        procs = self.cgroup_procs(c)
        self.resources(c, 1000)
        threading.Thread(target=self.watch, args=(c, procs), daemon=True).start()

    def holders(self):
        """Pids holding a flock on the state's lock file."""
        inode = os.stat(self.lock).st_ino
        with open("/proc/locks") as f:
            return [int(x.split()[4]) for x in f if " FLOCK " in x and x.split()[5].endswith(f":{inode}")]

    def watch(self, c, procs):
        deadline = time.monotonic() + 10
        try:
            while not self.done.is_set() and time.monotonic() < deadline:
                with open(procs) as f:
                    ours = set(f.read().split())
                for pid in self.holders():
                    if str(pid) not in ours:
                        continue
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        argv = f.read().split(b"\0")
                    if argv[0].endswith(b"/logprobe") and b"ready" not in argv:
                        os.kill(pid, signal.SIGSTOP)
                        self.caught = (pid, pid in self.holders())
                        return
                time.sleep(0.002)
        finally:
            self.resources(c, -1)

    def after(self, c):
        """Called by the prober when the run is over: the state as the killed run left it."""
        self.done.set()
        self.state_after = self.pod.read(self.state)


class Play:
    """One pod's scenarios, run in a thread of its own."""

    def __init__(self, node, kind, manifest_name, manifest, root, images):
        self.kind, self.manifest_name = kind, manifest_name
        env = {"STANDIN_STYLE": "7" if "7" in manifest_name else "8", "STANDIN_STDOUT_EVENTS": "1",
               "STANDIN_LOOP_SECONDS": str(LOOP_EVERY)}
        extra = []
        if kind == "crashloop":
            env["STANDIN_FAIL_AT_START"] = "always"
        if kind == "scaled":
            extra = ["-f", "/probe/time-scaled-rules.txt", "--max-stall", f"{MAX_STALL}s"]
        name = f"filebeat-{manifest_name}-{kind}"
        self.pod = Pod(node, name, manifest, os.path.join(root, name), images, SCALE, env=env, liveness_extra=extra)
        self.report = Report(f"{name}: {manifest_name}'s DaemonSet ({kind})")
        self.error = None

    def run(self):
        p, r = self.pod, self.report
        try:
            p.start()
            lv, rd = probe_spec(p, "livenessProbe"), probe_spec(p, "readinessProbe")
            self.period = lv.get("periodSeconds", 10) / SCALE
            self.delay = lv.get("initialDelaySeconds", 0) / SCALE
            self.timeout = lv.get("timeoutSeconds", 1)
            self.threshold = lv.get("failureThreshold", 3)
            cmd = lv["exec"]["command"] + p.liveness_extra
            r.note(f"pod {p.namespace}/{p.name} uid {p.uid}, records in {node_path(p, p.log_dir)}/filebeat/")
            r.note(f"liveness: {' '.join(cmd)}; every {self.period:g}s after {self.delay:g}s (the manifest's "
                   f"periodSeconds {lv.get('periodSeconds', 10)} and initialDelaySeconds {lv.get('initialDelaySeconds', 0)} "
                   f"scaled down {SCALE}x), timeoutSeconds {self.timeout}, failureThreshold {self.threshold}")
            r.note(f"readiness: {' '.join(rd['exec']['command'])}; every {rd.get('periodSeconds', 10) / SCALE:g}s, "
                   f"timeoutSeconds {rd.get('timeoutSeconds', 1)}")
            if not p.spec.get("hostNetwork"):
                r.note("the manifest has no hostNetwork: the pod gets the node's network all the same (no CNI "
                       "here), so no hostname of its own")
            self.found_by_uid()
            probe_dir = p.volumes["logprobe"]
            r.check("the init container installed the probe into the emptyDir "
                    f"({node_path(p, probe_dir)}/logprobe)", os.access(os.path.join(probe_dir, "logprobe"), os.X_OK))
            getattr(self, self.kind)()
        except Exception as e:  # one line, and the pod's events, rather than a traceback
            self.error = e
            r.check(f"{self.kind} scenarios ran to the end", False, one_line(e))
            self.dump()

    def dump(self):
        r, p = self.report, self.pod
        r.note("kubelet emulation's events and probe runs, last 12 each:")
        for t, text in p.events[-12:]:
            r.note(f"  {t % 1000:8.2f} {text[:300]}")
        for run in p.runs[-12:]:
            r.note(f"  {run!r}"[:400])

    # --- helpers --------------------------------------------------------------------------

    def found_by_uid(self):
        """The kubelet-like mounts put the pod's UID in the container's mountinfo, and
        the hostname is the node's: the probe can find its directory only by the UID."""
        p, r = self.pod, self.report
        _, mountinfo = p.exec("filebeat", ["/bin/busybox", "cat", "/proc/self/mountinfo"])
        _, hostname = p.exec("filebeat", ["/bin/busybox", "cat", "/proc/sys/kernel/hostname"])
        with open("/proc/sys/kernel/hostname") as f:
            node_hostname = f.read().strip()
        r.check(f"the container's mountinfo holds /pods/{p.uid}/ (emptyDir, etc-hosts, termination log), and its "
                f"hostname is the node's ({hostname.strip()}), not the pod's name",
                f"/pods/{p.uid}/" in mountinfo and hostname.strip() == node_hostname)

    def running_attempt(self, n, timeout):
        p = self.pod
        return wait_until(lambda: p.current["filebeat"].attempt == n, timeout)

    def liveness_runs(self, attempt, n, timeout):
        return wait_until(lambda: len(self.pod.runs_of("liveness", attempt)) >= n, timeout)

    def healthy(self, attempt, n, what):
        """N liveness runs on ATTEMPT, each exit 0 reading the pod logs."""
        p, r = self.pod, self.report
        self.liveness_runs(attempt, n, n * self.period + self.delay + 15)
        runs = p.runs_of("liveness", attempt)[:n]
        ok = len(runs) == n and all(run.ok and reads_pod_logs(run.output) for run in runs)
        r.check(f"{what}: {sum(run.ok for run in runs)} of {n} liveness runs exit 0, reading its pod logs", ok,
                "" if ok else "; ".join(repr(run) for run in runs if not run.ok)[:400])
        if runs:
            r.note(f"liveness said: {runs[-1].output}")
        return ok

    def trip(self, scenario, attempt, text, files_attempt, low, high, want_start, expected):
        """After a stuck condition was set off in ATTEMPT: waits for the restart, then
        checks detection (between LOW and HIGH seconds after the first record holding
        TEXT), the failing output, the failureThreshold failures, the restart."""
        p, r = self.pod, self.report
        restarted = self.running_attempt(attempt + 1, high + self.threshold * self.period + 30)
        t0, f, _ = first_record(p, p.log_files("filebeat", files_attempt), text)
        if not r.check(f"{scenario}: the stand-in's line is in {files_attempt}.log* (containerd wrote it)", t0 is not None):
            return None
        runs = p.runs_of("liveness", attempt)
        before = [run for run in runs if run.end < t0 + low]
        fails = [run for run in runs if not run.ok]
        r.check(f"{scenario}: no liveness failure before " + (f"{low:g}s had passed" if low else "the line"),
                all(run.ok for run in before),
                "; ".join(repr(run) for run in before if not run.ok)[:300])
        if not r.check(f"{scenario}: liveness failed", bool(fails)):
            return None
        first = fails[0]
        detect = first.end - t0
        r.check(f"{scenario}: detected {detect:.1f}s after the line (expected {low:g}s to {high:g}s)", low <= detect <= high)
        r.note(f"liveness said: {first.output[:420]}")
        r.check(f"{scenario}: the failing run says {want_start[:70]}...", first.output.startswith(want_start),
                first.output[:200])
        after = [run for run in runs if run.start >= first.start]
        r.check(f"{scenario}: {self.threshold} failing runs in a row, none after them on that container (probing paused)",
                len(after) == self.threshold and not any(run.ok for run in after),
                f"{len(after)} runs: {[run.rc for run in after]}")
        if not r.check(f"{scenario}: restarted: StopContainer, then a new container, attempt {attempt + 1}", restarted):
            return None
        old = [h for h in p.history if h.name == "filebeat" and h.attempt == attempt][0]
        new = p.current["filebeat"]
        restart = new.started - first.end
        r.check(f"{scenario}: restarted {restart:.1f}s after the first failing run (failureThreshold - 1 periods, "
                f"{(self.threshold - 1) * self.period:g}s, plus the kill and the start)",
                (self.threshold - 1) * self.period - 0.5 <= restart <= (self.threshold - 1) * self.period + 3)
        r.check(f"{scenario}: the old container exited, the new one ({new.id[:12]}) writes "
                f"{os.path.basename(new.log)}", p.status(old.id).state == p.pb.CONTAINER_EXITED
                and wait_until(lambda: os.path.exists(new.log) and os.path.getsize(new.log) > 0, 10))
        first_new = wait_until(lambda: p.runs_of("liveness", attempt + 1), self.delay + self.period + 10)
        runs_new = p.runs_of("liveness", attempt + 1)
        r.check(f"{scenario}: the new container's first liveness run came after initialDelaySeconds "
                f"({self.delay:g}s)", first_new and runs_new[0].start - new.started >= self.delay - 0.05,
                f"{runs_new[0].start - new.started:.2f}s after its start" if runs_new else "no run")
        r.timing(scenario, detect, restart, expected)
        return f

    # --- the scenarios -------------------------------------------------------------------

    def main(self):
        p, r = self.pod, self.report
        # Healthy while benign, and the log manager rotating by size.
        p.log_max_size = 8192
        wait_until(lambda: any(".log." in f for f in p.log_files("filebeat", 0)), 30)
        self.healthy(0, 3, "healthy while benign")
        rd = p.runs_of("readiness", 0)
        r.check(f"Ready: {sum(x.ok for x in rd)} of {len(rd)} readiness runs exit 0", rd and all(x.ok for x in rd))
        rotated = [os.path.basename(f) for f in p.log_files("filebeat", 0) if ".log." in f]
        r.check(f"the kubelet's rotation by size: {', '.join(rotated)}", bool(rotated))
        stdout = [f for f in p.log_files("filebeat", 0) if " stdout F " in p.read(f) and ONE_SHOT in p.read(f)]
        r.check("...stdout records quote the stuck message (events; the probe reads stderr only)", bool(stdout))

        # The one-shot start-up failure, rotated away at once.
        p.log_max_size = 1 << 30  # only the rotation right after the line, from here on
        p.rotate_on["filebeat"] = ONE_SHOT
        # Right after a liveness run, so the rotation (within 0.1 s of the line) comes
        # before the next run, which must find the line in the rotated file.
        n = len(p.runs_of("liveness", 0))
        self.liveness_runs(0, n + 1, self.period + 10)
        p.exec("filebeat", ["/bin/sh", "-c", ": >/tmp/stuck"])
        want = f'UNHEALTHY: "{ONE_SHOT}" in {node_path(p, p.log_dir)}/filebeat/0.log.'
        f = self.trip("one-shot", 0, ONE_SHOT, 0, 0, self.period + 1.5, want, f"at most one period, {self.period:g}s")
        if f:
            self.rotated_after(f)

        # Healthy after the restart, with the old line still on the node.
        self.healthy(1, 3, "healthy after the restart")
        old = [os.path.basename(f) for f in p.log_files("filebeat", 0) if ONE_SHOT in
               "".join(x for x in p.read(f).splitlines() if " stderr " in x)]
        r.check(f"...although the old {', '.join(old) or '0.log*'} still holds the error", bool(old))
        since = p.current["filebeat"].started
        self.liveness_runs(1, 4, 20)
        rd = [x for x in p.runs_of("readiness") if x.start >= since]
        r.check(f"Ready after the restart: {sum(x.ok for x in rd)} of {len(rd)} readiness runs exit 0",
                rd and all(x.ok for x in rd[1:]) and rd[-1].ok)
        self.overrun()

    def rotated_after(self, f):
        """The kubelet rotated 0.log after the stuck line and before the next liveness
        run: the line is in the rotated file F, which was renamed in between."""
        p, r = self.pod, self.report
        records = p.read(f).splitlines()
        at = next(i for i, x in enumerate(records) if ONE_SHOT in x and " stderr " in x)
        t_line = record_time(records[at])
        renamed = [t for t, name in p.rotations if name == f]
        nxt = [run.start for run in p.runs_of("liveness", 0) if run.start > t_line]
        ok = ".log." in f and bool(renamed) and bool(nxt) and t_line < renamed[0] < nxt[0]
        r.check(f"the kubelet rotated 0.log right after the line, before the next liveness run: "
                f"{os.path.basename(f)} (renamed {renamed[0] - t_line:.2f}s after the line, the run came "
                f"{nxt[0] - t_line:.2f}s after it) ends {len(records) - 1 - at} record(s) after the line"
                if ok else "the kubelet rotated 0.log right after the line, before the next liveness run", ok,
                "" if ok else f"line in {os.path.basename(f)}, renamed at {renamed}, runs after the line at {nxt[:1]}")

    def overrun(self):
        p, r = self.pod, self.report
        state = os.path.join(p.volumes["logprobe"], "state.json")
        # Right after a liveness run: the burst, then the starved run.
        n = len(p.runs_of("liveness", 1))
        self.liveness_runs(1, n + 1, self.period + 10)
        n += 1
        starve = Starve(p, p.current["filebeat"].log, state)
        p.exec("filebeat", ["/bin/sh", "-c", ": >/tmp/burst"])
        p.starve_next = starve
        self.liveness_runs(1, n + 2, 2 * self.period + self.timeout + 20)
        runs = p.runs_of("liveness", 1)[n:]
        caught = starve.caught
        if not r.check("overrun: a liveness run, starved of CPU after a burst of 100 000 lines, was stopped "
                       "mid-run, holding the state's lock" if caught else "overrun: a liveness run was stopped mid-run",
                       caught is not None and caught[1] and bool(runs)):
            return
        slow, nxt = runs[0], runs[1] if len(runs) > 1 else None
        took = slow.end - slow.start
        # containerd counts timeoutSeconds from the exec's start, after runc has set it up
        # (slow on the starved container), so the call returns a little later.
        r.check(f"overrun: containerd ended the run at timeoutSeconds ({self.timeout}s): ExecSync returned after "
                f"{took:.1f}s, \"{slow.output[:90]}\"", slow.rc is None and self.timeout <= took <= self.timeout + 5)
        pid = caught[0]
        gone = not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
        r.check(f"overrun: the stopped probe process (pid {pid}) was killed, and its lock released",
                gone and not starve.holders())
        after = starve.state_after
        try:
            json.loads(after)
            parsed = True
        except ValueError:
            parsed = False
        bad = os.path.exists(state + ".bad")
        r.check(f"overrun: the state the killed run left is intact ({len(after)} bytes of JSON, "
                f"{'as before the killed run' if after == starve.state_before else 'changed by the killed run'}, no .bad)",
                parsed and not bad)
        r.check("overrun: the next run is right: exit 0, reading the burst in its pod logs",
                nxt is not None and nxt.ok and reads_pod_logs(nxt.output),
                "" if nxt and nxt.ok and reads_pod_logs(nxt.output) else repr(nxt) if nxt else "no next run")
        if nxt:
            r.note(f"liveness said: {nxt.output}")
        code, out = p.exec("filebeat", ["/probe/logprobe", "state", "show", "--state", "/probe/state.json"])
        r.check("overrun: `logprobe state show` reads the state", code == 0, out.strip().splitlines()[1 if code == 0 else 0][:200])
        r.check("overrun: one failure is no restart (the success reset the count)", p.current["filebeat"].attempt == 1)

    def scaled(self):
        p, r = self.pod, self.report
        with open(os.path.join(p.volumes["logprobe"], "time-scaled-rules.txt"), "w") as f:
            f.write(f"# the filebeat preset's loop rule, persist 10m and gap 2m scaled down\n"
                    f"[persist={LOOP_PERSIST}s gap={LOOP_GAP}s] {LOOP}\n")
        r.note(f"time-scaled: the preset's loop rule persist 10m -> {LOOP_PERSIST}s, gap 2m -> {LOOP_GAP}s "
               f"(-f /probe/time-scaled-rules.txt), --max-stall 10m -> {MAX_STALL}s; the stand-in retries every "
               f"{LOOP_EVERY}s (Filebeat: ~10s) and reports its metrics every 0.2s (Filebeat: 30s)")
        self.healthy(0, 2, "healthy while benign")
        p.exec("filebeat", ["/bin/sh", "-c", ": >/tmp/loop"])
        want = f'UNHEALTHY: "{LOOP}" kept coming for '
        self.trip("retry loop", 0, LOOP, 0, LOOP_PERSIST, LOOP_PERSIST + LOOP_EVERY + self.period + 2, want,
                  f"persist {LOOP_PERSIST}s plus at most a period")
        self.healthy(1, 2, "healthy after the restart")
        p.exec("filebeat", ["/bin/sh", "-c", ": >/tmp/stall"])
        self.trip("silent stall", 1, STALLED, 1, MAX_STALL, MAX_STALL + self.period + 2, "UNHEALTHY: silent stall: ",
                  f"--max-stall {MAX_STALL}s plus at most a period")
        self.healthy(2, 2, "healthy after the restart")

    def crashloop(self):
        p, r = self.pod, self.report
        k = 3  # --max-restarts' default: deploy/'s commands do not set it
        lv = probe_spec(p, "livenessProbe")["exec"]["command"]
        if "--max-restarts" in lv:
            k = int(lv[lv.index("--max-restarts") + 1])
        start = p.history[0].started
        per_attempt = self.delay + self.threshold * self.period + 6
        self.running_attempt(k, (k + 1) * per_attempt + 20)
        r.check(f"a start-up failure at every start: restarted {p.restarts} times (--max-restarts {k})", p.restarts == k)
        for a in range(min(k, p.restarts)):
            runs = p.runs_of("liveness", a)
            fails = [x for x in runs if not x.ok]
            want = f'UNHEALTHY: "{ONE_SHOT}" in {node_path(p, p.log_dir)}/filebeat/{a}.log at byte'
            r.check(f"attempt {a}: {len(fails)} failing liveness runs, naming the rule and {a}.log",
                    len(fails) == self.threshold and fails[0].output.startswith(want), fails[0].output[:200] if fails else "")
        if not self.liveness_runs(k, 4, 4 * self.period + self.delay + 10):
            r.check(f"attempt {k}: four liveness runs", False)
            return
        held_from = p.runs_of("liveness", k)[0].end
        wait_until(lambda: len([x for x in p.runs_of("readiness") if x.start > held_from]) >= 3, 4 * self.period + 10)
        runs = p.runs_of("liveness", k)
        r.check(f"attempt {k}: liveness held: {sum(x.ok for x in runs)} of {len(runs)} runs exit 0, "
                "HEALTHY (crash-loop guard)", all(x.ok and x.output.startswith("HEALTHY (crash-loop guard): ") for x in runs),
                runs[0].output[:200])
        r.note(f"liveness said: {runs[-1].output[:300]}...")
        rd = [x for x in p.runs_of("readiness") if x.start > held_from]
        out = rd[-1].output if rd else ""
        r.check(f"NotReady: {sum(not x.ok for x in rd)} of {len(rd)} readiness runs since then fail, in one line "
                f"under 1 KiB naming the rule", rd and all(not x.ok for x in rd) and "\n" not in out
                and len(out.encode()) < 1024 and out.startswith(f'NOT READY: "{ONE_SHOT}" tripped each of the last {k} incarnations'),
                out[:200])
        r.check("...so the pod is Running but NotReady (the readiness worker's result)",
                p.results.get(("filebeat", "readiness")) is False and p.running(p.current["filebeat"].id))
        r.note(f"Readiness probe failed: {out[:300]}...")
        # Runs that overlapped their container's kill end with it: not counted.
        killed = {h.attempt: h.killed for h in p.history if h.name == "filebeat" and h.killed}
        ready_before = [x for x in p.runs_of("readiness") if x.attempt < k and x.end < killed.get(x.attempt, 0)]
        r.check(f"Ready before (one trip is no crash loop): {sum(x.ok for x in ready_before)} of "
                f"{len(ready_before)} readiness runs on attempts 0-{k - 1} exit 0 (those done before their "
                "container's kill)", ready_before and all(x.ok for x in ready_before),
                "; ".join(repr(x) for x in ready_before if not x.ok)[:400])
        r.check(f"no restart after those {k}: attempt {k} still running", p.current["filebeat"].attempt == k
                and p.running(p.current["filebeat"].id))
        not_ready = held_from - start
        r.note(f"timing: crash loop: NotReady {not_ready:.1f}s after the pod started, after {p.restarts} restarts")
        r.timings.append(("crash loop", not_ready, None, f"NotReady after {k} restarts"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True, help="directory of the compiled CRI protobuf modules")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--platform", required=True)
    ap.add_argument("--pause", required=True, metavar="ARCHIVE=TAG")
    ap.add_argument("--logprobe", required=True, metavar="ARCHIVE=TAG")
    ap.add_argument("--standin", required=True, metavar="ARCHIVE=TAG")
    ap.add_argument("--manifest", action="append", required=True, metavar="NAME=FILE")
    args = ap.parse_args()
    sys.path.insert(0, args.api)
    import v1_pb2
    import v1_pb2_grpc

    t_start = time.monotonic()
    node = Containerd(args.dir, args.pause.split("=", 1)[1], (v1_pb2, v1_pb2_grpc))
    passed = failed = 0
    plays = []

    def line(status, text, detail=""):
        nonlocal passed, failed
        print(f"  {status:<7} {text}{f' ({detail})' if detail else ''}", flush=True)
        passed += status == "ok"
        failed += status == "FAIL"

    try:
        v = node.start()
        print(f"cri: {v.runtime_name} {v.runtime_version} (CRI {v.runtime_api_version}), pid {node.proc.pid}, "
              f"socket {node.sock}", flush=True)
        images = {}
        for role, spec in (("pause", args.pause), ("logprobe", args.logprobe), ("filebeat", args.standin)):
            archive, tag = spec.split("=", 1)
            node.import_image(archive, args.platform)
            images[role] = tag
        tags = node.image_tags()
        missing = [t for t in images.values() if t not in tags]
        line("ok" if not missing else "FAIL", f"images imported for {args.platform}: {', '.join(images.values())}",
             f"missing {missing}; the CRI lists {tags}" if missing else "")
        if missing:
            return 1
        manifests = dict(m.split("=", 1) for m in args.manifest)
        for name, path in manifests.items():
            kinds = ["main"] if name == "example" else ["main", "scaled", "crashloop"]
            for kind in kinds:
                plays.append(Play(node, kind, name, path, os.path.join(args.dir, "nodes"), images))
        print(f"cri: {len(plays)} pods side by side, times scaled down {SCALE}x: "
              + ", ".join(pl.pod.name for pl in plays), flush=True)
        threads = [threading.Thread(target=pl.run, daemon=True) for pl in plays]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        for pl in plays:
            print(f"cri: {pl.report.title}")
            for text in pl.report.lines:
                print(text)
            passed += pl.report.passed
            failed += pl.report.failed
        print("cri: timings (measured; periods scaled down %dx)" % SCALE)
        for pl in plays:
            for scenario, detect, restart, expected in pl.report.timings:
                if restart is None:
                    print(f"          {pl.pod.name:24} {scenario:12} NotReady {detect:5.1f}s after the pod started ({expected})")
                else:
                    print(f"          {pl.pod.name:24} {scenario:12} detect {detect:5.1f}s after the line ({expected}), "
                          f"restart {restart:.1f}s after the first failing run")
    finally:
        print("cri: teardown", flush=True)
        try:
            for pl in plays:
                pl.pod.teardown()
            left = node.remove_everything() if node.proc and node.proc.poll() is None else (0, 0)
            line("ok" if left == (0, 0) else "FAIL", "every container and sandbox removed through the CRI",
                 f"{left[0]} containers, {left[1]} sandboxes were still there" if left != (0, 0) else "")
        except Exception as e:
            line("FAIL", "pods removed through the CRI", one_line(e))
        time.sleep(0.5)
        node.reap()
        shims = node.shims()
        line("ok" if not shims else "FAIL", "no shim left", f"pids {shims}" if shims else "")
        how = node.stop()
        line("ok" if "SIGTERM" in how or node.proc is None else "FAIL", f"containerd {how}")
        mounts = node.mounts()
        line("ok" if not mounts else "FAIL", "no mount left under the test's directory", ", ".join(mounts[:5]))
        ids = [pl.pod.sandbox for pl in plays if pl.pod.sandbox] + [h.id for pl in plays for h in pl.pod.history]
        cgroups = [d for d in glob.glob("/sys/fs/cgroup/*/k8s.io/*") + glob.glob("/sys/fs/cgroup/k8s.io/*")
                   if os.path.basename(d) in ids]
        line("ok" if not cgroups else "FAIL", f"no cgroup left of the {len(ids)} sandboxes and containers",
             ", ".join(cgroups[:3]))
        nodes = os.path.join(args.dir, "nodes")
        dirs = [os.path.join(dp, d) for dp, ds, _ in os.walk(nodes) for d in ds
                if d.endswith(tuple(pl.pod.uid for pl in plays)) or any(pl.pod.uid in d for pl in plays)]
        line("ok" if not dirs else "FAIL", "no pod directory left (var/lib/kubelet/pods/<uid>, var/log/pods/..._<uid>)",
             ", ".join(dirs[:4]))
        print(f"cri: the scenarios and teardown took {time.monotonic() - t_start:.0f}s")
        print(f"cri: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
