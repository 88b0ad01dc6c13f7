#!/usr/bin/env python3
"""The logprobe benchmark: logprobe against a do-nothing floor, the classic grep
probe, grep -F -f and rg -F -f, on generated Filebeat logs. See benches/README.md.

Every command is started with posix_spawn and reaped with wait4, so one process
measures them all alike: wall time around spawn..reap, user+sys CPU time and
peak RSS from the child's rusage. Commands run interleaved (round-robin), so
slow drifts of a noisy machine hit every row alike, and each result is the
median of its repetitions. Every run's exit status is checked (and logprobe's
JSON: healthy, and exactly the expected number of bytes scanned); a command
that misbehaves is reported INVALID and never timed as fast.
"""

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_logs  # noqa: E402

MIB = 1024 * 1024
CANONICAL = "Can only start an input when all related states are finished"

# Targets of issue 4.
T_NODATA_WALL = 1.25      # no new data: <= 1.25x floor wall time
T_NODATA_IR = 1.5         # no new data: <= 1.5x floor instructions
T_APPEND_WALL = 3.0       # 1 MiB appended: <= 3x floor wall time
T_VS_CLASSIC = 1.8        # first run, 10 MiB: >= 1.8x faster than the classic probe
T_VS_GREPF = 3.0          # first run, 10 MiB: >= 3x faster than grep -F -f
T_RSS_MIB = 16            # first run, 100 MiB and 8 files: peak RSS <= 16 MiB
T_SIZE_MIB = 1.5          # static stripped executable <= 1.5 MiB


def die(msg, code=2):
    print("error: " + msg, file=sys.stderr)
    sys.exit(code)


def need(tool):
    path = shutil.which(tool)
    if not path:
        die("%s not found on PATH; run scripts/install-deps bench (as root) or install it" % tool)
    return path


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


# ---------------------------------------------------------------- ELF facts

def elf_facts(path):
    """(static, stripped) from the ELF headers: static = no PT_INTERP, stripped = no .symtab."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False, False
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 0x20)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 0x36)
    interp = any(struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] == 3 for i in range(e_phnum))
    symtab = any(struct.unpack_from("<I", data, e_shoff + i * e_shentsize + 4)[0] == 2 for i in range(e_shnum))
    return not interp, not symtab


# ---------------------------------------------------------------- machine load

def busy_seconds():
    """CPU seconds the whole machine has spent busy (all CPUs), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OthersMeter:
    """CPU used by other processes: the machine's busy time minus this harness and its children."""

    def __init__(self):
        self.busy0, self.own0, self.t0 = busy_seconds(), own_seconds(), time.monotonic()

    def share(self):
        """Others' CPU use since creation, as a fraction of one CPU (None if unknown)."""
        b = busy_seconds()
        if b is None or self.busy0 is None:
            return None
        el = time.monotonic() - self.t0
        return max(0.0, (b - self.busy0) - (own_seconds() - self.own0)) / el if el > 0 else None


def wait_for_quiet(max_wait, limit=0.10):
    """Waits (up to max_wait s) until other processes use under `limit` of one CPU over a second."""
    t_end = time.monotonic() + max_wait
    while True:
        m = OthersMeter()
        time.sleep(1.0)
        share = m.share()
        if share is None or share < limit:
            return share
        if time.monotonic() >= t_end:
            print("  machine still busy after %d s (others use %.0f%% of a CPU); measuring anyway" % (
                max_wait, 100 * share), file=sys.stderr)
            return share
        print("  waiting for a quiet machine: others use %.0f%% of a CPU" % (100 * share), file=sys.stderr)


# ---------------------------------------------------------------- running

RUNONE = None  # the static launcher built from runone.c


def spawn(argv, env, out, err):
    """Runs argv once under the launcher; returns (wall ms, exit code, peak RSS KiB, user+sys CPU ms)."""
    res = out + ".result"
    pid = os.posix_spawn(RUNONE, [RUNONE, res, out, err] + argv, env)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        die("the launcher failed on %s" % " ".join(argv), 1)
    with open(res) as f:
        wall_ns, code, maxrss, ut, st = (int(x) for x in f.read().split())
    return wall_ns / 1e6, code, maxrss, (ut + st) / 1e3


def build_runone(workdir):
    exe = os.path.join(workdir, "runone")
    r = subprocess.run(["cc", "-O2", "-static", "-o", exe, os.path.join(HERE, "runone.c")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("building the launcher (cc -O2 -static benches/runone.c) failed:\n" + r.stderr)
    return exe


def read(path, limit=2000):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


class Case:
    """One command of the table, with its expected exit status and optional checks."""

    def __init__(self, scenario, label, argv, expect, nbytes=None, prep=None, check=None, is_logprobe=False):
        self.scenario, self.label, self.argv, self.expect = scenario, label, argv, expect
        self.nbytes, self.prep, self.check, self.is_logprobe = nbytes, prep, check, is_logprobe
        self.wall, self.rss, self.cpu = [], [], []
        self.bad = None

    def run(self, ctx, timed):
        if self.bad:
            return
        if self.prep:
            self.prep()
        out, err = ctx.out, ctx.err
        ms, code, rss, cpu = spawn(self.argv, ctx.env, out, err)
        problem = None
        if code != self.expect:
            problem = "exit status %d, expected %d" % (code, self.expect)
        elif self.check:
            problem = self.check(read(out, 1 << 16))
        if problem:
            self.bad = "%s; stdout: %s; stderr: %s" % (problem, read(out, 300).strip(), read(err, 300).strip())
            print("  INVALID %s / %s: %s" % (self.scenario, self.label, self.bad), file=sys.stderr)
            return
        if timed:
            self.wall.append(ms)
            self.rss.append(rss)
            self.cpu.append(cpu)

    def median(self):
        return statistics.median(self.wall) if self.wall and not self.bad else None

    def iqr(self):
        if len(self.wall) < 4:
            return None
        q = statistics.quantiles(self.wall, n=4)
        return q[0], q[2]


def logprobe_json_check(expect_bytes, expect_status="healthy"):
    def check(out):
        try:
            obj = json.loads(out.strip().splitlines()[0])
        except (ValueError, IndexError):
            return "stdout is not one JSON object"
        if obj.get("status") != expect_status:
            return "status %r, expected %r" % (obj.get("status"), expect_status)
        if expect_bytes is not None and obj.get("scanned_bytes") != expect_bytes:
            return "scanned_bytes %r, expected %d (an incomplete scan is not timed)" % (obj.get("scanned_bytes"), expect_bytes)
        return None
    return check


def rounds(cases, ctx, n, timed, label):
    """n interleaved rounds; each round starts one case later, so no case always runs first."""
    gc.disable()
    try:
        for r in range(n):
            k = r % len(cases)
            for c in cases[k:] + cases[:k]:
                c.run(ctx, timed)
    finally:
        gc.enable()
    if timed:
        print("  %s: %d rounds done" % (label, n), file=sys.stderr)


# ---------------------------------------------------------------- building the floor

FLOOR_SRC = "fn main() {}\n"


def build_static_flags():
    """The target triple and RUSTFLAGS that scripts/build-static uses, so the floor is built alike."""
    import re
    target, rustflags = None, "-C target-feature=+crt-static"
    try:
        with open(os.path.join(REPO, "scripts", "build-static")) as f:
            text = f.read()
        m = re.search(r"RUSTFLAGS='([^']*)'", text) or re.search(r'RUSTFLAGS="([^"$]*)"', text)
        if m:
            rustflags = m.group(1)
        m = re.search(r"\$\{LOGPROBE_TARGET:-([^}]+)\}", text)
        if m:
            target = m.group(1)
    except OSError:
        pass
    target = os.environ.get("LOGPROBE_TARGET") or target
    if not target:
        out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
        target = [l.split()[1] for l in out.splitlines() if l.startswith("host:")][0]
    return target, rustflags


def build_floor(workdir, cargo_toml):
    """Builds `fn main() {}` with the project's release profile and the same static flags."""
    d = os.path.join(workdir, "floor")
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    profile = {"lto": True, "codegen-units": 1, "panic": "abort", "strip": True, "opt-level": 3}
    try:
        import tomllib
        with open(cargo_toml, "rb") as f:
            profile = tomllib.load(f).get("profile", {}).get("release", profile)
    except (ImportError, OSError, ValueError):
        pass

    def key(k):
        return k if k.replace("-", "").replace("_", "").isalnum() else json.dumps(k)

    def val(v):
        """A TOML value (inline tables for nested ones, as `[profile.release.package.*]` needs)."""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join("%s = %s" % (key(k), val(x)) for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return json.dumps(v)

    prof = "".join("%s = %s\n" % (key(k), val(v)) for k, v in profile.items())
    with open(os.path.join(d, "Cargo.toml"), "w") as f:
        f.write('[package]\nname = "floor"\nversion = "0.0.0"\nedition = "2021"\n\n'
                "[workspace]\n\n[profile.release]\n" + prof)
    with open(os.path.join(d, "src", "main.rs"), "w") as f:
        f.write(FLOOR_SRC)
    target, rustflags = build_static_flags()
    env = dict(os.environ, RUSTFLAGS=rustflags, CARGO_TARGET_DIR=os.path.join(d, "target"))
    r = subprocess.run(["cargo", "build", "--quiet", "--offline", "--release", "--target", target],
                       cwd=d, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        die("building the floor failed:\n" + r.stderr)
    return os.path.join(d, "target", target, "release", "floor"), profile, target, rustflags


# ---------------------------------------------------------------- data

def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_data(workdir, patterns):
    d = os.path.join(workdir, "data-v" + gen_logs.GEN_VERSION)
    manifest = os.path.join(d, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            m = json.load(f)
        if all(os.path.exists(os.path.join(d, p)) and os.path.getsize(os.path.join(d, p)) == s
               for p, (s, _) in m["files"].items()):
            print("  reusing generated logs in %s" % d, file=sys.stderr)
            return d, m
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    t = time.time()
    facts = gen_logs.generate(d, patterns)
    files = facts["set"] + [facts["tail"], facts["big"]]
    m = {"files": {os.path.relpath(p, d): [os.path.getsize(p), file_digest(p)] for p in files}}
    m["digest"] = hashlib.sha256(json.dumps(m["files"], sort_keys=True).encode()).hexdigest()
    with open(manifest, "w") as f:
        json.dump(m, f, indent=1)
    print("  generated logs in %.1f s" % (time.time() - t), file=sys.stderr)
    return d, m


CONTROL_LINES = [
    # (file name, line, pattern it holds, holds the canonical message)
    ("c1-7x", "2026-11-26T10:02:11.386Z\tERROR\t[autodiscover]\tcfgfile/list.go:96\tError creating runner from "
     "config: Can only start an input when all related states are finished: {Id: native::1308836-2049, Finished: "
     "false, Fileinfo: &{filebeat.log 2048 420 {0 63841000000 0x0} {2049 1308836 1 33188 0 0 0 0 2048 4096 8}}, "
     "Source: /var/log/containers/web-5d9c_default_web-0a1b.log, Offset: 0, TTL: -1ns, Type: container}\n", 0, True),
    ("c2-8x", '{"log.level":"error","@timestamp":"2026-11-26T10:02:11.386Z","log.logger":"autodiscover","log.origin":'
     '{"file.name":"cfgfile/list.go","file.line":96},"message":"Error creating runner from config: Can only start an '
     'input when all related states are finished: {Id: native::1308836-2049, Finished: false}","service.name":'
     '"filebeat","ecs.version":"1.6.0"}\n', 0, True),
    ("c3-7x", "2026-11-26T10:02:11.386Z\tERROR\tlog/input.go:558\tHarvester could not be started on new file: "
     "/var/log/containers/a_b_c-0a1b.log, Err: error setting up harvester: Harvester setup failed. Unexpected file "
     "opening error: file info is not identical\n", 1, False),
    ("c4-7x", "2026-11-26T10:02:11.386Z\tERROR\t[input]\tfilestream/input.go:138\tfailed to open file: open "
     "/var/log/containers/a_b_c-0a1b.log: too many open files\n", 2, False),
    ("c5-8x", '{"log.level":"error","@timestamp":"2026-11-26T10:02:11.386Z","log.logger":"kubernetes","log.origin":'
     '{"file.name":"kubernetes/watcher.go","file.line":258},"message":"kubernetes: Watching API error EOF",'
     '"service.name":"filebeat","ecs.version":"1.6.0"}\n', 3, False),
    ("c6-8x", '{"log.level":"error","@timestamp":"2026-11-26T10:02:11.386Z","log.logger":"input","log.origin":'
     '{"file.name":"input-logfile/manager.go","file.line":181},"message":"filestream input with ID \'k8s-logs\' '
     'already exists, this will lead to data duplication, please use a different ID","service.name":"filebeat",'
     '"ecs.version":"1.6.0"}\n', 4, False),
]


def make_controls(workdir, data_dir):
    """Small files, each with one stuck line between benign ones."""
    d = os.path.join(workdir, "controls")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(data_dir, "set7x", "filebeat"), "rb") as f:
        benign = f.read(64 * 1024)
    benign = benign[: benign.rindex(b"\n") + 1]
    out = []
    for name, line, pat_index, canonical in CONTROL_LINES:
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(benign + line.encode() + benign)
        out.append((p, pat_index, canonical))
    return out


# ---------------------------------------------------------------- report

def fmt_ms(v):
    return "—" if v is None else ("%.2f" % v if v < 100 else "%.0f" % v)


def fmt_ratio(v):
    return "—" if v is None else "%.2f×" % v


def pf(ok):
    return "**PASS**" if ok else "**FAIL**"


# ---------------------------------------------------------------- the run, step by step

S_FLOOR = "start-up floor"
S10 = "first run, 10 MiB (7.x text)"
S8 = "first run, 8 files × 10 MiB (7.x text)"
S100 = "first run, 100 MiB (8.x ndjson)"
S_ND = "no new data (8 files, offsets at end)"
S_AP = "1 MiB appended (8 files)"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logprobe", required=True, help="the static logprobe executable to measure")
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "logprobe-bench"))
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--reps-fast", type=int, default=501, help="repetitions of the start-up-bound rows")
    ap.add_argument("--rounds", type=int, default=31, help="repetitions of the scanning rows")
    ap.add_argument("--quiet-wait", type=int, default=120,
                    help="wait up to this many seconds for other processes to go quiet before timing")
    ap.add_argument("--nice", type=int, default=-20,
                    help="niceness of the harness and every timed command (default -20: other load disturbs "
                         "them less; needs root, else left as it is)")
    ap.add_argument("--locale", default=None, help="LC_ALL for the peers (default C.UTF-8 when present, else C)")
    return ap.parse_args()


def check_inputs(args):
    """The run's settings: the executable, the tools, the patterns, the work directory and
    the peers' environment (ctx: env, and the files every command's stdout and stderr go to)."""
    s = types.SimpleNamespace(args=args, t_start=time.time())
    s.logprobe = os.path.abspath(args.logprobe)
    if not os.access(s.logprobe, os.X_OK):
        die("logprobe executable %s not found or not executable" % s.logprobe)
    s.tools = {t: need(t) for t in ("grep", "rg", "sh", "valgrind", "cargo", "rustc", "cc")}
    s.patterns_file = os.path.join(HERE, "patterns.txt")
    with open(s.patterns_file) as f:
        s.patterns = [l.rstrip("\n") for l in f if l.strip()]
    if len(s.patterns) != 5:
        die("benches/patterns.txt must hold exactly 5 patterns (no comments: grep would take them as patterns)")
    s.work = os.path.abspath(args.workdir)
    os.makedirs(s.work, exist_ok=True)

    locale = args.locale
    if locale is None:
        avail = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split() if shutil.which("locale") else []
        locale = "C.UTF-8" if any(a.lower() in ("c.utf-8", "c.utf8") for a in avail) else "C"
    s.locale = locale
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": locale}
    if os.environ.get("RUNONE_TIMEOUT"):
        # Read by the launcher itself (benches/runone.c), which hands the same environment on.
        env["RUNONE_TIMEOUT"] = os.environ["RUNONE_TIMEOUT"]
    s.ctx = types.SimpleNamespace(
        env=env,
        out=os.path.join(s.work, "stdout"), err=os.path.join(s.work, "stderr"))
    return s


def generate_logs(s):
    """The generated logs (made once, then reused), their paths and sizes."""
    print("logprobe benchmark: preparing", file=sys.stderr)
    d = types.SimpleNamespace()
    d.dir, d.manifest = ensure_data(s.work, s.patterns)
    d.set_dir = os.path.join(d.dir, "set7x")
    d.set_files = [os.path.join(d.set_dir, n) for n in ["filebeat.%d" % i for i in range(7, 0, -1)] + ["filebeat"]]
    d.current = os.path.join(d.set_dir, "filebeat")
    d.big = os.path.join(d.dir, "big8x", "filebeat-20261126.ndjson")
    d.tail = os.path.join(d.dir, "append1m.tail")
    d.size_cur = os.path.getsize(d.current)
    d.size_set = sum(os.path.getsize(p) for p in d.set_files)
    d.size_big = os.path.getsize(d.big)
    d.size_tail = os.path.getsize(d.tail)
    return d


def build_floor_and_launcher(s):
    """The launcher (RUNONE), the floor, and the ELF facts of the floor and of logprobe."""
    global RUNONE
    RUNONE = build_runone(s.work)
    b = types.SimpleNamespace()
    b.floor, b.profile, b.target, b.flags = build_floor(s.work, os.path.join(REPO, "Cargo.toml"))
    b.lp_static, b.lp_stripped = elf_facts(s.logprobe)
    fl_static, _ = elf_facts(b.floor)
    if not fl_static:
        die("the floor did not link statically")
    b.lp_size = os.path.getsize(s.logprobe)
    return b


def warm_page_cache(d):
    for p in d.set_files + [d.big, d.tail]:
        with open(p, "rb") as f:
            while f.read(8 << 20):
                pass


def lp_argv(s, state, *logs):
    a = [s.logprobe, "check", "--preset", "none", "-f", s.patterns_file]
    for l in logs:
        a += ["-l", l]
    return a + ["-s", state, "--since", "@0", "--format", "json", "--on-error", "fail", "--budget", "1h"]


def fresh(d):
    def prep():
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
    return prep


def restore(d, snap):
    def prep():
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(snap, d)
    return prep


def once(s, argv, expect, check=None, what=""):
    """Runs argv once, untimed; any surprise ends the benchmark (exit 1)."""
    ctx = s.ctx
    ms, code, _, _ = spawn(argv, ctx.env, ctx.out, ctx.err)
    problem = None if code == expect else "exit status %d, expected %d" % (code, expect)
    if not problem and check:
        problem = check(read(ctx.out, 1 << 16))
    if problem:
        die("%s: %s\n  command: %s\n  stdout: %s\n  stderr: %s" % (
            what, problem, " ".join(argv), read(ctx.out, 500).strip(), read(ctx.err, 500).strip()), 1)


def positive_controls(s, d, run_dir):
    """Every tool must see every pattern, or its fast times mean nothing."""
    print("  positive controls (each tool must find each pattern)", file=sys.stderr)
    tools, patterns_file = s.tools, s.patterns_file
    for path, pi, canonical in make_controls(s.work, d.dir):
        what = "control %s (pattern %r)" % (os.path.basename(path), s.patterns[pi])
        once(s, [tools["grep"], "-F", "-f", patterns_file, path], 0, what="grep -F -f, " + what)
        once(s, [tools["rg"], "-F", "-f", patterns_file, path], 0, what="rg -F -f, " + what)
        if canonical:
            once(s, [tools["sh"], "-c", "! grep '%s' %s" % (CANONICAL, path)], 1, what="classic probe, " + what)
        sd = os.path.join(run_dir, "control-state")
        fresh(sd)()
        once(s, lp_argv(s, os.path.join(sd, "state.json"), path), 1, logprobe_json_check(None, "unhealthy"),
             what="logprobe, " + what)


def prepare_states(s, d, run_dir):
    """The states "no new data" (8 files read to the end) and "1 MiB appended" start from."""
    p = types.SimpleNamespace()
    p.nd_dir = os.path.join(run_dir, "nodata-state")
    p.nd_snap = os.path.join(run_dir, "nodata-snap")
    p.nd_state = os.path.join(p.nd_dir, "state.json")
    fresh(p.nd_dir)()
    once(s, lp_argv(s, p.nd_state, d.set_dir + "/filebeat*"), 0, logprobe_json_check(d.size_set),
         "preparing no-new-data state")
    once(s, lp_argv(s, p.nd_state, d.set_dir + "/filebeat*"), 0, logprobe_json_check(0), "settling no-new-data state")
    shutil.copytree(p.nd_dir, p.nd_snap)

    p.ap_logs = os.path.join(run_dir, "append-logs")
    os.makedirs(p.ap_logs)
    for f in d.set_files[:-1]:
        os.link(f, os.path.join(p.ap_logs, os.path.basename(f)))
    shutil.copyfile(d.current, os.path.join(p.ap_logs, "filebeat"))
    p.ap_dir = os.path.join(run_dir, "append-state")
    p.ap_snap = os.path.join(run_dir, "append-snap")
    p.ap_state = os.path.join(p.ap_dir, "state.json")
    fresh(p.ap_dir)()
    once(s, lp_argv(s, p.ap_state, p.ap_logs + "/filebeat*"), 0, logprobe_json_check(d.size_set),
         "preparing 1-MiB-appended state")
    shutil.copytree(p.ap_dir, p.ap_snap)
    with open(d.tail, "rb") as src, open(os.path.join(p.ap_logs, "filebeat"), "ab") as dst:
        dst.write(src.read())
    return p


def make_cases(s, d, b, p, run_dir):
    """The rows: the start-up-bound ones (fast) and the scanning ones (scan)."""
    tools, patterns_file = s.tools, s.patterns_file
    grepf = lambda files: [tools["grep"], "-F", "-f", patterns_file] + files  # noqa: E731
    rgf = lambda files: [tools["rg"], "-F", "-f", patterns_file] + files  # noqa: E731
    classic = lambda files: [tools["sh"], "-c", "! grep '%s' %s" % (CANONICAL, " ".join(files))]  # noqa: E731

    c = types.SimpleNamespace()
    c.floor = Case(S_FLOOR, "do-nothing static Rust `fn main(){}`", [b.floor], 0)
    c.nd = Case(S_ND, "logprobe", lp_argv(s, p.nd_state, d.set_dir + "/filebeat*"), 0, None,
                restore(p.nd_dir, p.nd_snap), logprobe_json_check(0), True)
    c.ap = Case(S_AP, "logprobe", lp_argv(s, p.ap_state, p.ap_logs + "/filebeat*"), 0, d.size_tail,
                restore(p.ap_dir, p.ap_snap), logprobe_json_check(d.size_tail), True)
    c.fast = [c.floor, c.nd, c.ap]

    scan = []
    for scen, files, nbytes, glob in ((S10, [d.current], d.size_cur, d.current),
                                      (S8, d.set_files, d.size_set, d.set_dir + "/filebeat*"),
                                      (S100, [d.big], d.size_big, d.big)):
        sd = os.path.join(run_dir, "first-%d" % len(scan))
        scan += [
            Case(scen, "classic probe `sh -c \"! grep '<canonical>' FILE\"`", classic(files), 0, nbytes),
            Case(scen, "`grep -F -f patterns.txt`", grepf(files), 1, nbytes),
            Case(scen, "`rg -F -f patterns.txt`", rgf(files), 1, nbytes),
            Case(scen, "logprobe", lp_argv(s, os.path.join(sd, "state.json"), glob), 0, nbytes,
                 fresh(sd), logprobe_json_check(nbytes), True),
        ]
    c.scan = scan
    return c


def timing_rounds(s, b, c):
    """Warm-up and timed rounds, then the floor again; how busy the machine was meanwhile."""
    args, ctx = s.args, s.ctx
    print("logprobe benchmark: measuring (%d + %d warm-up, then %d and %d repetitions)" % (
        20, 2, args.reps_fast, args.rounds), file=sys.stderr)
    m = types.SimpleNamespace()
    m.quiet_before = wait_for_quiet(args.quiet_wait)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    except OSError:
        pass
    m.niceness = os.getpriority(os.PRIO_PROCESS, 0)
    meter = OthersMeter()
    rounds(c.fast, ctx, 20, False, "start-up rows warm-up")
    rounds(c.fast, ctx, args.reps_fast, True, "start-up rows")
    rounds(c.scan, ctx, 2, False, "scanning rows warm-up")
    rounds(c.scan, ctx, args.rounds, True, "scanning rows")
    # The floor again, interleaved with nothing, to show the noise between the two groups.
    c.floor2 = Case(S_FLOOR, "floor (re-measured after the scans)", [b.floor], 0)
    rounds([c.floor2], ctx, max(51, args.reps_fast // 3), True, "floor re-check")
    m.others = meter.share()
    m.noisy = m.others is not None and m.others > 0.15
    return m


def callgrind(s, argv, expect, prep=None, check=None, name="x"):
    """Total instructions (Ir) of one run under callgrind: (Ir, None), or (None, the problem)."""
    if prep:
        prep()
    outf = os.path.join(s.work, "callgrind.%s.out" % name)
    r = subprocess.run([s.tools["valgrind"], "--tool=callgrind", "--dump-instr=no", "--callgrind-out-file=" + outf,
                        "--"] + argv, env=s.ctx.env, capture_output=True, text=True)
    if r.returncode != expect:
        return None, "exit status %d under valgrind: %s" % (r.returncode, r.stderr.strip()[-300:])
    if check:
        problem = check(r.stdout)
        if problem:
            return None, problem
    with open(outf) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1]), None
    return None, "no totals in callgrind output"


def count_instructions(s, b, p, c):
    """Ir of the floor and of the no-new-data run: (ir_floor, ir_nd, errors)."""
    print("logprobe benchmark: counting instructions under callgrind", file=sys.stderr)
    ir_floor, e1 = callgrind(s, [b.floor], 0, name="floor")
    ir_nd, e2 = callgrind(s, c.nd.argv, 0, restore(p.nd_dir, p.nd_snap), logprobe_json_check(0), name="nodata")
    for e in (e1, e2):
        if e:
            print("  callgrind: " + e, file=sys.stderr)
    return ir_floor, ir_nd, (e1, e2)


def ratio(a, b):
    return a / b if (a is not None and b) else None


def by_scenario(scan):
    by = {}
    for c in scan:
        by.setdefault(c.scenario, []).append(c)
    return by


def lp_of(by, scen):
    return [c for c in by[scen] if c.is_logprobe][0]


def table_row(c, floor_ms, peer_ratio):
    med = c.median()
    xfloor = med / floor_ms if med is not None and floor_ms else None
    gbs = "%.2f" % (c.nbytes / (med / 1e3) / 1e9) if (c.nbytes and med) else "—"
    iqr = c.iqr()
    return "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        c.scenario, c.label,
        "INVALID" if c.bad else fmt_ms(med),
        "—" if (iqr is None or c.bad) else "%s–%s" % (fmt_ms(iqr[0]), fmt_ms(iqr[1])),
        fmt_ms(statistics.median(c.cpu)) if c.cpu and not c.bad else "—",
        fmt_ratio(xfloor), peer_ratio, gbs,
        "%.1f" % (max(c.rss) / 1024) if c.rss and not c.bad else "—",
        len(c.wall))


def wall_time_rows(c):
    """The wall-time table's rows, in the table's order."""
    floor_ms = c.floor.median()
    by = by_scenario(c.scan)
    rows = [table_row(c.floor, floor_ms, "—")]
    for scen in (S10, S8, S100):
        lp = lp_of(by, scen)
        for x in by[scen]:
            if x.is_logprobe:
                pr = "1.00× (itself)"
            elif x.median() and lp.median():
                pr = "%.2f×" % (x.median() / lp.median())
            else:
                pr = "—"
            rows.append(table_row(x, floor_ms, pr))
    rows += [table_row(x, floor_ms, "—") for x in (c.nd, c.ap, c.floor2)]
    return rows


def paired(num, den):
    """Median of per-round ratios num_i / den_i (the two ran back to back in each round)."""
    if num.bad or den.bad or not num.wall or len(num.wall) != len(den.wall):
        return None
    return statistics.median(a / b for a, b in zip(num.wall, den.wall))


def wall_target(name, num, den, limit, at_most):
    """Verdict on the ratio of medians; the paired ratio is shown beside it as a second opinion."""
    r = ratio(num.median(), den.median())
    p = paired(num, den)
    ok = r is not None and (r <= limit if at_most else r >= limit)
    shown = fmt_ratio(r)
    if p is not None:
        shown += " (paired %s%s)" % (fmt_ratio(p), "" if (p <= limit if at_most else p >= limit) == ok
                                      else ", borderline")
    return name, shown, ("≤ %.2f×" if at_most else "≥ %.2f×") % limit, ok


def verdicts(b, c, ir_floor, ir_nd):
    """The targets: (name, measured, limit, met) each."""
    by = by_scenario(c.scan)
    lp10, lp8, lp100 = lp_of(by, S10), lp_of(by, S8), lp_of(by, S100)
    peer = lambda scen, i: by[scen][i]  # noqa: E731  0 classic, 1 grep -F -f, 2 rg
    t = [wall_target("no new data: wall time vs floor", c.nd, c.floor, T_NODATA_WALL, True)]
    r = ratio(ir_nd, ir_floor)
    t.append(("no new data: instructions (Ir) vs floor", fmt_ratio(r), "≤ %.2f×" % T_NODATA_IR,
              r is not None and r <= T_NODATA_IR))
    t.append(wall_target("1 MiB appended: wall time vs floor", c.ap, c.floor, T_APPEND_WALL, True))
    t.append(wall_target("first run, 10 MiB: speed-up over the classic grep probe", peer(S10, 0), lp10,
                         T_VS_CLASSIC, False))
    t.append(wall_target("first run, 10 MiB: speed-up over grep -F -f", peer(S10, 1), lp10, T_VS_GREPF, False))
    t.append(wall_target("first run, 100 MiB: speed-up over rg -F -f", peer(S100, 2), lp100, 1.0, False))
    t.append(wall_target("first run, 8 files: speed-up over rg -F -f", peer(S8, 2), lp8, 1.0, False))
    for x, n in ((lp100, "100 MiB"), (lp8, "8 files")):
        rss = max(x.rss) / 1024 if x.rss and not x.bad else None
        t.append(("first run, %s: peak RSS" % n, "—" if rss is None else "%.1f MiB" % rss, "≤ %d MiB" % T_RSS_MIB,
                  rss is not None and rss <= T_RSS_MIB))
    t.append(("executable: static, stripped, size",
              "%s, %s, %d bytes (%.2f MiB)" % ("static" if b.lp_static else "DYNAMIC",
                                              "stripped" if b.lp_stripped else "NOT stripped",
                                              b.lp_size, b.lp_size / MIB),
              "static, stripped, ≤ %.1f MiB" % T_SIZE_MIB,
              b.lp_static and b.lp_stripped and b.lp_size <= T_SIZE_MIB * MIB))
    return t


def machine_info(s, d, m):
    """The machine and the tools, as (name, value) rows."""
    tools, logprobe = s.tools, s.logprobe
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(next(l for l in f if l.startswith("MemTotal")).split()[1]) / 1024 / 1024)
    except (OSError, StopIteration):
        pass
    sh_real = os.path.realpath(tools["sh"])
    dash_v = first_line(["dpkg-query", "-W", "-f", "${Package} ${Version}", os.path.basename(sh_real)]) if shutil.which("dpkg-query") else "?"
    git = "?"
    if shutil.which("git"):
        git = first_line(["git", "-C", REPO, "log", "-1", "--format=%h", "--", "src", "Cargo.toml", "Cargo.lock"])
        if subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                          capture_output=True, text=True).stdout.strip():
            git += " + uncommitted changes in src/"
    others, quiet_before = m.others, m.quiet_before
    return [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())),
        ("nproc", "%d (affinity %d)" % (os.cpu_count() or 0, len(os.sched_getaffinity(0)))),
        ("CPU", cpu),
        ("memory", mem),
        ("kernel", "%s %s %s" % (platform.system(), platform.release(), platform.machine())),
        ("load average at start", "%.2f %.2f %.2f" % os.getloadavg()),
        ("niceness of the timed commands", "%d" % m.niceness),
        ("other processes' CPU use", "%s of one CPU while timing (%s just before)%s" % (
            "?" if others is None else "%.0f%%" % (100 * others),
            "?" if quiet_before is None else "%.0f%%" % (100 * quiet_before),
            " — **the machine was busy: wall times are noisy, trust the CPU ms and Ir columns more**" if m.noisy else "")),
        ("logprobe", "%s (`%s`, sources of commit %s)" % (first_line([logprobe, "--version"]), os.path.relpath(logprobe, REPO)
                                                if logprobe.startswith(REPO) else logprobe, git)),
        ("rustc", first_line(["rustc", "--version"])),
        ("grep", first_line([tools["grep"], "--version"])),
        ("rg", first_line([tools["rg"], "--version"])),
        ("sh", "%s → %s (%s)" % (tools["sh"], sh_real, dash_v)),
        ("valgrind", first_line([tools["valgrind"], "--version"])),
        ("python", platform.python_version()),
        ("peers' environment", "`PATH` and `LC_ALL=%s` only" % s.locale),
        ("generated logs", "digest %s… (gen_logs.py v%s, seed %d)" % (d.manifest["digest"][:16], gen_logs.GEN_VERSION, gen_logs.SEED)),
    ]


def results_tables(r):
    """RESULTS.md up to the wall-time table's rows."""
    md = []
    md.append("# logprobe benchmark results\n")
    md.append("Written by `benches/run.sh` (see `benches/README.md`); %d of %d targets met%s. "
              "Full run took %.0f s.\n" % (r.passed, len(r.t), "" if not r.invalid else ", SOME MEASUREMENTS INVALID",
                                          r.elapsed))
    md.append("## Machine\n")
    md.append("| | |\n|---|---|")
    md += ["| %s | %s |" % kv for kv in r.machine]
    md.append("")
    md.append("## Wall time\n")
    md.append("Median of the repetitions (last column) after warm-up; page cache warm; all commands interleaved "
              "round-robin in one run. IQR = 25th–75th percentile. CPU = user+sys of the process and its children. "
              "× floor = median / the floor's median. *peer ÷ logprobe* = this row's median / logprobe's median in "
              "the same scenario (above 1: logprobe is faster). GB/s = bytes in the scenario / median wall time "
              "(start-up included). Peak RSS = largest `ru_maxrss` over the repetitions. Wall, CPU and RSS are taken by the static launcher `benches/runone.c` (clock around posix_spawn … wait4), so the harness's own memory and overhead stay out.\n")
    md.append("| scenario | command | median ms | IQR ms | CPU ms | × floor | peer ÷ logprobe | GB/s | peak RSS MiB | runs |")
    md.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    md += r.rows
    md.append("")
    return md


def results_verdicts(r, d, c):
    """RESULTS.md from the bytes line to the invalid measurements."""
    md = []
    md.append("Bytes: 10 MiB case %d, 8 files %d, 100 MiB case %d, appended %d.\n" % (
        d.size_cur, d.size_set, d.size_big, d.size_tail))
    md.append("## Instructions (callgrind, `--dump-instr=no`)\n")
    md.append("| program | Ir | × floor |\n|---|--:|--:|")
    md.append("| floor (`fn main(){}`, static) | %s | 1.00× |" % ("{:,}".format(r.ir_floor) if r.ir_floor else "error"))
    md.append("| logprobe, no new data (8 files) | %s | %s |" % ("{:,}".format(r.ir_nd) if r.ir_nd else "error",
                                                             fmt_ratio(ratio(r.ir_nd, r.ir_floor))))
    md.append("")
    md.append("## Targets\n")
    md.append("Wall-time verdicts use the ratio of the two medians above. *paired* is the median of the "
              "per-round ratios (the two commands ran back to back in each round), a second opinion that is less "
              "sensitive to load bursts; *borderline* marks a target where the two disagree.\n")
    md.append("| target | measured | limit | verdict |\n|---|---|---|---|")
    md += ["| %s | %s | %s | %s |" % (n, m, l, pf(ok)) for n, m, l, ok in r.t]
    md.append("")
    if r.invalid:
        md.append("## Invalid measurements\n")
        for x in c.fast + c.scan + [c.floor2]:
            if x.bad:
                md.append("- %s / %s: %s" % (x.scenario, x.label, x.bad.replace("|", "\\|")))
        for e in r.errors:
            if e:
                md.append("- callgrind: %s" % e)
        md.append("")
    return md


def results_notes(b):
    """RESULTS.md's closing section: how the rows were made."""
    md = []
    md.append("## How the rows were made\n")
    md.append("- Floor: `%s` compiled by cargo with the project's `[profile.release]` (%s) and "
              "`--target %s` with `RUSTFLAGS='%s'`, the target and flags `scripts/build-static` uses; static, stripped, "
              "%d bytes. It measures what exec + a static Rust start-up + exit + reaping cost here." % (
                  FLOOR_SRC.strip(), ", ".join("%s = %s" % (k, json.dumps(v)) for k, v in b.profile.items()),
                  b.target, b.flags, os.path.getsize(b.floor)))
    md.append("- logprobe runs as `logprobe check --preset none -f benches/patterns.txt -l <file or glob> "
              "-s <state> --since @0 --format json --on-error fail --budget 1h`; first runs start from an empty "
              "state directory, the other two from a copy of a state that an earlier run left. Every run's JSON is "
              "checked: `healthy` and `scanned_bytes` equal to the bytes it had to read.")
    md.append("- Peers run with the same patterns file (5 literals, `benches/patterns.txt`); the classic probe greps "
              "only the canonical message. Expected exits: floor 0, classic probe 0, grep/rg 1 (no match), "
              "logprobe 0. Before timing, each tool must find each pattern in a control file.")
    md.append("- Logs come from `benches/gen_logs.py`: 7.x tab-separated text for the 8-file set "
              "(`filebeat`, `filebeat.1` … `filebeat.7`, 10 MiB each) and 8.x ndjson for the 100 MiB file, with "
              "\"Non-zero metrics in the last 30s\" lines (≈1.3 KB each) every 30 s of log time; no line holds a pattern.")
    md.append("")
    return md


def write_results(path, md):
    text = "\n".join(md)
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print("results written to %s" % os.path.relpath(path), file=sys.stderr)


def print_verdicts(t, m, invalid):
    """The missed targets and warnings on stderr; exit 1 when a measurement is invalid."""
    missed = [x for x in t if not x[3]]
    if missed:
        bar = "!" * 72
        print("\n" + bar, file=sys.stderr)
        print("!!! %d TARGET(S) MISSED:" % len(missed), file=sys.stderr)
        for n, ms, l, _ in missed:
            print("!!!   FAIL  %s: measured %s, limit %s" % (n, ms, l), file=sys.stderr)
        print(bar, file=sys.stderr)
    else:
        print("all %d targets met" % len(t), file=sys.stderr)
    if m.noisy:
        print("!!! WARNING: other processes used %.0f%% of a CPU while timing; wall-time verdicts are unreliable, "
              "rerun on a quiet machine" % (100 * m.others), file=sys.stderr)
    if invalid:
        print("error: some measurements are INVALID (a command did not behave as expected); see above", file=sys.stderr)
        sys.exit(1)


def main():
    s = check_inputs(parse_args())
    d = generate_logs(s)
    b = build_floor_and_launcher(s)
    warm_page_cache(d)
    run_dir = os.path.join(s.work, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    positive_controls(s, d, run_dir)
    p = prepare_states(s, d, run_dir)
    c = make_cases(s, d, b, p, run_dir)
    m = timing_rounds(s, b, c)
    r = types.SimpleNamespace()
    r.ir_floor, r.ir_nd, r.errors = count_instructions(s, b, p, c)
    r.rows = wall_time_rows(c)
    r.t = verdicts(b, c, r.ir_floor, r.ir_nd)
    r.invalid = [x for x in c.fast + c.scan + [c.floor2] if x.bad] + ([1] if any(r.errors) else [])
    r.passed = sum(1 for x in r.t if x[3])
    r.elapsed = time.time() - s.t_start
    r.machine = machine_info(s, d, m)
    write_results(s.args.results, results_tables(r) + results_verdicts(r, d, c) + results_notes(b))
    print_verdicts(r.t, m, r.invalid)


if __name__ == "__main__":
    main()
