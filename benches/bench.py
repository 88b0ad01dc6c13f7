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
import re
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
T_PRESET_COST = 1.10      # no new data and steady state: the preset within 10 % of patterns.txt ("today's")


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
    target, rustflags = None, "-C target-feature=+crt-static"
    try:
        with open(os.path.join(REPO, "scripts", "build-static")) as f:
            text = f.read()
        m = re.search(r"RUSTFLAGS='([^']*)'", text) or re.search(r'RUSTFLAGS="([^"$]*)"', text)
        if m:
            rustflags = m.group(1)
        m = re.search(r"\$\{LOGPROBE_TARGET:-([^}]+)\}", text) or re.search(r"amd64\) build (\S+)", text)
        if m:
            target = m.group(1)
    except OSError:
        pass
    target = os.environ.get("LOGPROBE_TARGET") or target
    if not target:
        out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
        target = [l.split()[1] for l in out.splitlines() if l.startswith("host:")][0]
    return target, rustflags


def build_floor(workdir, cargo_toml, target=None, cargo="cargo", env_extra=None, name="floor"):
    """Builds `fn main() {}` with the project's release profile and the same static flags, in
    WORKDIR/NAME; target, cargo and env_extra (e.g. the linker) for another platform."""
    d = os.path.join(workdir, name)
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
    default_target, rustflags = build_static_flags()
    target = target or default_target
    env = dict(os.environ, RUSTFLAGS=rustflags, CARGO_TARGET_DIR=os.path.join(d, "target"), **(env_extra or {}))
    r = subprocess.run([cargo, "build", "--quiet", "--offline", "--release", "--target", target],
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
    files = facts["set"] + [facts["tail"], facts["steady"], facts["big"]]
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


# ---------------------------------------------------------------- the filebeat preset's literals

def rust_strings(text):
    """The string literals in a piece of Rust source (one with an escape is refused)."""
    out = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    if any("\\" in x for x in out):
        die("src/stall.rs: a literal with an escape; teach bench.py's rust_strings to read it")
    return out


def preset_literals(s):
    """Every literal logprobe looks for with `--preset filebeat` (Config::literals): the rules'
    (from `logprobe preset show filebeat`), then the stall detector's REPORT and OUTPUT_ERRORS
    (parsed out of src/stall.rs). Returns (rule literals, one-hit rule literals, stall literals)."""
    out = subprocess.run([s.logprobe, "preset", "show", "filebeat"], capture_output=True, text=True)
    if out.returncode != 0:
        die("`logprobe preset show filebeat` failed: " + out.stderr.strip())
    rules, one_hit = [], []
    for line in out.stdout.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"\[([^\]]*)\] (.*)$", line)
        lit = m.group(2) if m else line
        rules.append(lit)
        if m and re.fullmatch(r"threshold=1", m.group(1).strip()):
            one_hit.append(lit)
    path = os.path.join(REPO, "src", "stall.rs")
    try:
        with open(path) as f:
            src = f.read()
    except OSError as e:
        die("cannot read %s for the stall detector's literals: %s" % (path, e))
    m1 = re.search(r"pub const REPORT: &str = (\"[^\n]*\");", src)
    m2 = re.search(r"pub const OUTPUT_ERRORS: &\[&str\] = &\[(.*?)\];", src, re.S)
    stall = (rust_strings(m1.group(1)) if m1 else []) + (rust_strings(m2.group(1)) if m2 else [])
    if not rules or not m1 or not m2 or len(stall) < 2:
        die("could not read the preset's literals (rules %r; REPORT and OUTPUT_ERRORS in src/stall.rs: %r); "
            "the output of `preset show` or the shape of src/stall.rs changed: update preset_literals()"
            % (rules, stall))
    return rules, one_hit, stall


def write_literals(s):
    """The preset's literals, one a line, for grep -F -f and rg -F -f (s.lits, s.lits_file)."""
    s.rule_lits, s.one_hit_lits, s.stall_lits = preset_literals(s)
    s.lits = s.rule_lits + s.stall_lits
    if any("\n" in x or not x.strip() for x in s.lits):
        die("a preset literal is blank or spans lines: %r" % s.lits)
    s.lits_file = os.path.join(s.work, "preset-literals.txt")
    with open(s.lits_file, "w") as f:
        f.write("".join(x + "\n" for x in s.lits))
    print("  the preset's %d literals (%d rules', %d of the stall detector) in %s" % (
        len(s.lits), len(s.rule_lits), len(s.stall_lits), s.lits_file), file=sys.stderr)


def matching_lines(data, lits):
    """How many lines of data hold at least one of lits (what grep -c and rg -c count)."""
    starts = set()
    for lit in (x.encode() for x in lits):
        i = data.find(lit)
        while i >= 0:
            starts.add(data.rfind(b"\n", 0, i))
            i = data.find(lit, i + 1)
    return len(starts)


def count_preset_lines(s, d):
    """Per file, the lines holding a preset literal (d.hits) and all its lines (d.lines); no
    rule's literal may be there."""
    d.hits, d.lines = {}, {}
    for p in d.set_files + [d.big]:
        with open(p, "rb") as f:
            data = f.read()
        if matching_lines(data, s.rule_lits):
            die("generator bug: %s holds a literal of the preset's rules: the preset would trip" % p)
        d.hits[p] = matching_lines(data, s.lits)
        d.lines[p] = data.count(b"\n")


def replay_argv(s, log):
    """`logprobe replay` of one file with the filebeat preset (its rules and the silent-stall
    detector), the livenessProbe's defaults (period 10s, failure threshold 3), JSON events."""
    return [s.logprobe, "replay", log, "--format", "json"]


def replay_check(expect_lines, expect_trip=None):
    """For `logprobe replay --format json`: the last line is the summary, which must count
    expect_lines lines, all with a time of their own; with expect_trip, the first event must
    be a trip on that rule and a restart must follow, else there must be no event at all."""
    def check(out):
        try:
            objs = [json.loads(l) for l in out.strip().splitlines()]
        except ValueError:
            return "stdout is not one JSON object a line"
        summary = objs[-1].get("summary") if objs else None
        if not isinstance(summary, dict):
            return "no summary on the last line"
        if expect_lines is not None and summary.get("lines") != expect_lines:
            return "%r lines replayed, expected %d (an incomplete read is not timed)" % (
                summary.get("lines"), expect_lines)
        if expect_lines is not None and summary.get("lines_without_time") != 0:
            return "%r lines without a time of their own, expected 0" % summary.get("lines_without_time")
        events = [o.get("event") for o in objs[:-1]]
        if expect_trip is None:
            return None if not events else "events %r, expected none" % events
        if events[:1] != ["trip"] or objs[0].get("rule") != expect_trip or "restart" not in events:
            return "events %r (first rule %r), expected a trip on %r and a restart" % (
                events, objs[0].get("rule") if objs[:-1] else None, expect_trip)
        return None
    return check


def count_check(expect):
    """For grep -c / rg -c: the counts on stdout (`N` or `FILE:N` lines) must add up to expect."""
    def check(out):
        try:
            got = sum(int(l.rsplit(":", 1)[-1]) for l in out.split("\n") if l.strip())
        except ValueError:
            return "stdout is not counts"
        return None if got == expect else "%d matching lines counted, expected %d" % (got, expect)
    return check


def preset_controls(s, d, run_dir):
    """Each peer must count each preset literal; logprobe must trip on each one-hit rule."""
    print("  positive controls of the preset's literals", file=sys.stderr)
    with open(d.current, "rb") as f:
        benign = f.read(64 * 1024)
    benign = benign[: benign.rindex(b"\n") + 1]
    base = matching_lines(benign, s.lits)
    cdir = os.path.join(s.work, "controls")
    os.makedirs(cdir, exist_ok=True)
    for i, lit in enumerate(s.lits):
        path = os.path.join(cdir, "preset-%d" % i)
        with open(path, "wb") as f:
            f.write(benign + b"2026-11-26T10:02:11.386Z\tERROR\t[control]\tcontrol.go:1\tfrom here: "
                    + lit.encode() + b" (control)\n" + benign)
        what = "control %s (preset literal %r)" % (os.path.basename(path), lit)
        for tool in ("grep", "rg"):
            once(s, [s.tools[tool], "-c", "-F", "-f", s.lits_file, path], 0, count_check(2 * base + 1),
                 what="%s -c -F -f, %s" % (tool, what))
        if lit in s.one_hit_lits:
            sd = os.path.join(run_dir, "control-state")
            fresh(sd)()
            once(s, lp_argv(s, os.path.join(sd, "state.json"), path, preset=True), 1,
                 logprobe_json_check(None, "unhealthy"), what="logprobe --preset filebeat, " + what)
            once(s, replay_argv(s, path), 1, replay_check(None, lit), what="logprobe replay, " + what)


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
S_SS = "steady state: Filebeat's real mix, ~10 s with one metrics report (8 files)"
S10P = "first run, 10 MiB (7.x text), the filebeat preset's literals"
S8P = "first run, 8 files × 10 MiB (7.x text), the filebeat preset's literals"
S100P = "first run, 100 MiB (8.x ndjson), the filebeat preset's literals"
S100R = "replay, 100 MiB (8.x ndjson), the filebeat preset's literals"
L_R = "logprobe replay (the filebeat preset)"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logprobe", required=True, help="the static logprobe executable to measure")
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "logprobe-bench"))
    ap.add_argument("--results", default=None,
                    help="where the table is written (default benches/RESULTS.md; with --only, nowhere)")
    ap.add_argument("--only", choices=["replay"], default=None,
                    help="measure only these rows (and the floor), print them, write no RESULTS.md "
                         "unless --results is given")
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
    d.steady = os.path.join(d.dir, "steady.tail")
    d.size_cur = os.path.getsize(d.current)
    d.size_set = sum(os.path.getsize(p) for p in d.set_files)
    d.size_big = os.path.getsize(d.big)
    d.size_tail = os.path.getsize(d.tail)
    d.size_steady = os.path.getsize(d.steady)
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
    for p in d.set_files + [d.big, d.tail, d.steady]:
        with open(p, "rb") as f:
            while f.read(8 << 20):
                pass


def lp_argv(s, state, *logs, preset=False):
    """logprobe over logs with patterns.txt, or (preset) with the whole filebeat preset: its
    rules and its silent-stall detector (--max-stall 10m by default)."""
    a = [s.logprobe, "check"] + (["--preset", "filebeat"] if preset else ["--preset", "none", "-f", s.patterns_file])
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


class Start:
    """A state an earlier run left, copied back before every run that starts from it."""

    def __init__(self, run_dir, name):
        self.name = name
        self.dir = os.path.join(run_dir, name + "-state")
        self.snap = os.path.join(run_dir, name + "-snap")
        self.state = os.path.join(self.dir, "state.json")
        self.restore = restore(self.dir, self.snap)


def start_from(s, run_dir, name, glob, nbytes, preset, settle=False):
    """The state that a run over glob from an empty state leaves (it must read nbytes);
    settle: then a second run, which must read nothing."""
    st = Start(run_dir, name)
    fresh(st.dir)()
    argv = lp_argv(s, st.state, glob, preset=preset)
    once(s, argv, 0, logprobe_json_check(nbytes), "preparing the %s state" % name)
    if settle:
        once(s, argv, 0, logprobe_json_check(0), "settling the %s state" % name)
    shutil.copytree(st.dir, st.snap)
    return st


def logs_copy(d, path):
    """The 8-file set with its current file copied (to append to) and the others linked; its glob."""
    os.makedirs(path)
    for f in d.set_files[:-1]:
        os.link(f, os.path.join(path, os.path.basename(f)))
    shutil.copyfile(d.current, os.path.join(path, "filebeat"))
    return path + "/filebeat*"


def append_to(glob, tail):
    with open(tail, "rb") as src, open(glob[: -len("*")], "ab") as dst:
        dst.write(src.read())


def prepare_states(s, d, run_dir):
    """The states the start-up-bound rows start from, with patterns.txt and with the preset:
    "no new data" (8 files read to the end), "1 MiB appended" and "steady state" (read to the
    end, then the tail appended to the current file)."""
    p = types.SimpleNamespace()
    glob = d.set_dir + "/filebeat*"
    p.nd = start_from(s, run_dir, "nodata", glob, d.size_set, False, settle=True)
    p.nd_p = start_from(s, run_dir, "nodata-preset", glob, d.size_set, True, settle=True)
    p.ap_glob = logs_copy(d, os.path.join(run_dir, "append-logs"))
    p.ap = start_from(s, run_dir, "append", p.ap_glob, d.size_set, False)
    p.ss_glob = logs_copy(d, os.path.join(run_dir, "steady-logs"))
    p.ss = start_from(s, run_dir, "steady", p.ss_glob, d.size_set, False)
    p.ss_p = start_from(s, run_dir, "steady-preset", p.ss_glob, d.size_set, True)
    append_to(p.ap_glob, d.tail)
    append_to(p.ss_glob, d.steady)
    return p


L_T = "logprobe -f patterns.txt"
L_P = "logprobe --preset filebeat"


def make_fast_cases(s, d, b, p):
    """The start-up-bound rows: floor, no new data, 1 MiB appended, steady state."""
    def lp(scen, label, start, glob, nbytes, preset):
        return Case(scen, label, lp_argv(s, start.state, glob, preset=preset), 0, nbytes or None,
                    start.restore, logprobe_json_check(nbytes), True)

    c = types.SimpleNamespace()
    c.floor = Case(S_FLOOR, "do-nothing static Rust `fn main(){}`", [b.floor], 0)
    glob = d.set_dir + "/filebeat*"
    c.nd = lp(S_ND, L_T, p.nd, glob, 0, False)
    c.nd_p = lp(S_ND, L_P, p.nd_p, glob, 0, True)
    c.ap = lp(S_AP, L_T, p.ap, p.ap_glob, d.size_tail, False)
    c.ss = lp(S_SS, L_T + " (today's stand-in)", p.ss, p.ss_glob, d.size_steady, False)
    c.ss_p = lp(S_SS, L_P, p.ss_p, p.ss_glob, d.size_steady, True)
    c.fast = [c.floor, c.nd, c.nd_p, c.ap, c.ss, c.ss_p]
    return c


def make_scan_cases(s, d, run_dir):
    """The first runs: with patterns.txt beside the classic probe, grep and rg; with the preset
    beside grep -c and rg -c given the preset's literals."""
    tools, pf_, lf = s.tools, s.patterns_file, s.lits_file
    classic = lambda files: [tools["sh"], "-c", "! grep '%s' %s" % (CANONICAL, " ".join(files))]  # noqa: E731
    scan = []
    for scen, scen_p, files, nbytes, glob in (
            (S10, S10P, [d.current], d.size_cur, d.current),
            (S8, S8P, d.set_files, d.size_set, d.set_dir + "/filebeat*"),
            (S100, S100P, [d.big], d.size_big, d.big)):
        sd, sdp = (os.path.join(run_dir, "first-%d%s" % (len(scan), x)) for x in ("", "-preset"))
        hits = sum(d.hits[f] for f in files)
        scan += [
            Case(scen, "classic probe `sh -c \"! grep '<canonical>' FILE\"`", classic(files), 0, nbytes),
            Case(scen, "`grep -F -f patterns.txt`", [tools["grep"], "-F", "-f", pf_] + files, 1, nbytes),
            Case(scen, "`rg -F -f patterns.txt`", [tools["rg"], "-F", "-f", pf_] + files, 1, nbytes),
            Case(scen, L_T, lp_argv(s, os.path.join(sd, "state.json"), glob), 0, nbytes,
                 fresh(sd), logprobe_json_check(nbytes), True),
            Case(scen_p, "`grep -c -F -f preset-literals.txt`", [tools["grep"], "-c", "-F", "-f", lf] + files,
                 0 if hits else 1, nbytes, None, count_check(hits)),
            Case(scen_p, "`rg -c -F -f preset-literals.txt`", [tools["rg"], "-c", "-F", "-f", lf] + files,
                 0 if hits else 1, nbytes, None, count_check(hits)),
            Case(scen_p, L_P, lp_argv(s, os.path.join(sdp, "state.json"), glob, preset=True), 0, nbytes,
                 fresh(sdp), logprobe_json_check(nbytes), True),
        ]
    return scan + make_replay_cases(s, d)


def make_replay_cases(s, d):
    """`logprobe replay` of the 100 MiB file with the filebeat preset (a simulated run every
    10 s over the log's whole span), beside `grep -c` given the preset's literals, which also
    reads every byte and finds every matching line."""
    lf, hits = s.lits_file, d.hits[d.big]
    return [
        Case(S100R, "`grep -c -F -f preset-literals.txt`", [s.tools["grep"], "-c", "-F", "-f", lf, d.big],
             0 if hits else 1, d.size_big, None, count_check(hits)),
        Case(S100R, L_R, replay_argv(s, d.big), 0, d.size_big, None, replay_check(d.lines[d.big]), True),
    ]


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


IR_ROWS = (  # (key, program as the instructions table names it, case in c)
    ("floor", "floor (`fn main(){}`, static)", "floor"),
    ("nd", "logprobe, no new data (8 files), -f patterns.txt", "nd"),
    ("nd_p", "logprobe, no new data (8 files), --preset filebeat", "nd_p"),
    ("ss", "logprobe, steady state (8 files), -f patterns.txt", "ss"),
    ("ss_p", "logprobe, steady state (8 files), --preset filebeat", "ss_p"),
)


def count_instructions(s, c):
    """Ir of the floor and of the logprobe runs of IR_ROWS: ({key: Ir or None}, [errors])."""
    print("logprobe benchmark: counting instructions under callgrind", file=sys.stderr)
    ir, errors = {}, []
    for key, _, attr in IR_ROWS:
        x = getattr(c, attr)
        ir[key], e = callgrind(s, x.argv, x.expect, x.prep, x.check, name=key)
        if e:
            print("  callgrind (%s): %s" % (key, e), file=sys.stderr)
            errors.append("%s: %s" % (key, e))
    return ir, errors


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
    gbs = c.nbytes / (med / 1e3) / 1e9 if (c.nbytes and med) else None
    gbs = "—" if gbs is None else ("%.2f" if gbs >= 0.01 else "%.4f") % gbs
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
    for scen in (S10, S10P, S8, S8P, S100, S100P, S100R):
        lp = lp_of(by, scen)
        for x in by[scen]:
            if x.is_logprobe:
                pr = "1.00× (itself)"
            elif x.median() and lp.median():
                pr = "%.2f×" % (x.median() / lp.median())
            else:
                pr = "—"
            rows.append(table_row(x, floor_ms, pr))
    rows += [table_row(x, floor_ms, "—") for x in c.fast[1:] + [c.floor2]]
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


def verdicts(b, c, ir):
    """The targets: (name, measured, limit, met) each."""
    by = by_scenario(c.scan)
    lp10, lp8, lp100 = lp_of(by, S10), lp_of(by, S8), lp_of(by, S100)
    peer = lambda scen, i: by[scen][i]  # noqa: E731  0 classic, 1 grep -F -f, 2 rg; preset: 0 grep, 1 rg
    t = [wall_target("no new data: wall time vs floor", c.nd, c.floor, T_NODATA_WALL, True)]
    r = ratio(ir["nd"], ir["floor"])
    t.append(("no new data: instructions (Ir) vs floor", fmt_ratio(r), "≤ %.2f×" % T_NODATA_IR,
              r is not None and r <= T_NODATA_IR))
    t.append(wall_target("1 MiB appended: wall time vs floor", c.ap, c.floor, T_APPEND_WALL, True))
    t.append(wall_target("first run, 10 MiB: speed-up over the classic grep probe", peer(S10, 0), lp10,
                         T_VS_CLASSIC, False))
    t.append(wall_target("first run, 10 MiB: speed-up over grep -F -f", peer(S10, 1), lp10, T_VS_GREPF, False))
    t.append(wall_target("first run, 100 MiB: speed-up over rg -F -f", peer(S100, 2), lp100, 1.0, False))
    t.append(wall_target("first run, 8 files: speed-up over rg -F -f", peer(S8, 2), lp8, 1.0, False))
    t.append(wall_target("no new data: the preset vs patterns.txt (today's)", c.nd_p, c.nd, T_PRESET_COST, True))
    t.append(wall_target("steady state: the preset vs patterns.txt (today's), same bytes", c.ss_p, c.ss,
                         T_PRESET_COST, True))
    t.append(wall_target("first run, 100 MiB, the preset's literals: speed-up over rg -c -F -f", peer(S100P, 1),
                         lp_of(by, S100P), 1.0, False))
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
    md.append("Bytes: 10 MiB case %d, 8 files %d, 100 MiB case %d, appended %d (1 MiB) and %d (steady state, one "
              "metrics report). Lines holding a preset literal (what grep -c and rg -c must count): 10 MiB %d, "
              "8 files %d, 100 MiB %d.\n" % (
                  d.size_cur, d.size_set, d.size_big, d.size_tail, d.size_steady, d.hits[d.current],
                  sum(d.hits[f] for f in d.set_files), d.hits[d.big]))
    md.append("## Instructions (callgrind, `--dump-instr=no`)\n")
    md.append("| program | Ir | × floor |\n|---|--:|--:|")
    for key, name, _ in IR_ROWS:
        md.append("| %s | %s | %s |" % (name, "{:,}".format(r.ir[key]) if r.ir[key] else "error",
                                         fmt_ratio(ratio(r.ir[key], r.ir["floor"]))))
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
            md.append("- callgrind: %s" % e.replace("|", "\\|"))
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
              "state directory, the others from a copy of a state that an earlier run left. Every run's JSON is "
              "checked: `healthy` and `scanned_bytes` equal to the bytes it had to read.")
    md.append("- *--preset filebeat* rows run `logprobe check --preset filebeat -l <file or glob>` with the same "
              "options: the preset's rules and its silent-stall detector (`--max-stall 10m`), which parses every "
              "metrics report line's JSON. Their peers get the same literals (`preset-literals.txt`: the rules' "
              "from `logprobe preset show filebeat`, then `REPORT` and `OUTPUT_ERRORS` parsed out of "
              "`src/stall.rs`) and run with `-c`: they read every byte and find every matching line as without "
              "it, but print a count instead of ~20 % of the input; each count must equal the number of lines "
              "holding a literal. The steady-state tail is ~10 s of the current file's logging with one "
              "`Non-zero metrics in the last 30s` report.")
    md.append("- The *replay* row runs `logprobe replay <the 100 MiB file> --format json` (the filebeat preset, "
              "the livenessProbe's defaults: a simulated run every 10 s over the log's whole span, a restart "
              "after 3 failing runs) beside `grep -c -F -f preset-literals.txt` on the same file. Its output is "
              "checked: the summary counts every line of the file, each with a time of its own, and there is "
              "no event. Before timing, replay must trip and restart on each one-hit rule's control file.")
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


def replay_only(s, d, b, run_dir):
    """`--only replay`: the preset's controls (replay's among them), then the replay rows
    interleaved with the floor; prints their table, written to --results only when given."""
    preset_controls(s, d, run_dir)
    floor = Case(S_FLOOR, "do-nothing static Rust `fn main(){}`", [b.floor], 0)
    cases = make_replay_cases(s, d)
    m = types.SimpleNamespace(quiet_before=wait_for_quiet(s.args.quiet_wait))
    try:
        os.setpriority(os.PRIO_PROCESS, 0, s.args.nice)
    except OSError:
        pass
    meter = OthersMeter()
    rounds([floor] + cases, s.ctx, 2, False, "replay rows warm-up")
    rounds([floor] + cases, s.ctx, s.args.rounds, True, "replay rows")
    m.others = meter.share()
    lp = lp_of(by_scenario(cases), S100R)
    rows = [table_row(floor, floor.median(), "—")]
    for x in cases:
        pr = "1.00× (itself)" if x.is_logprobe else (
            "%.2f×" % (x.median() / lp.median()) if x.median() and lp.median() else "—")
        rows.append(table_row(x, floor.median(), pr))
    md = ["# logprobe benchmark: the replay rows only (`--only replay`)\n",
          "%s; other processes used %s of one CPU while timing. Bytes: %d (%d lines, %d holding a preset "
          "literal).\n" % (first_line([s.logprobe, "--version"]),
                           "?" if m.others is None else "%.0f%%" % (100 * m.others),
                           d.size_big, d.lines[d.big], d.hits[d.big]),
          "| scenario | command | median ms | IQR ms | CPU ms | × floor | peer ÷ logprobe | GB/s | peak RSS MiB "
          "| runs |",
          "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"] + rows + [""]
    if s.args.results:
        write_results(s.args.results, md)
    else:
        print("\n".join(md))
    bad = [x for x in [floor] + cases if x.bad]
    if bad:
        die("some measurements are INVALID (a command did not behave as expected); see above", 1)


def main():
    s = check_inputs(parse_args())
    write_literals(s)
    d = generate_logs(s)
    count_preset_lines(s, d)
    b = build_floor_and_launcher(s)
    warm_page_cache(d)
    run_dir = os.path.join(s.work, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    if s.args.only == "replay":
        replay_only(s, d, b, run_dir)
        return
    positive_controls(s, d, run_dir)
    preset_controls(s, d, run_dir)
    p = prepare_states(s, d, run_dir)
    c = make_fast_cases(s, d, b, p)
    c.scan = make_scan_cases(s, d, run_dir)
    m = timing_rounds(s, b, c)
    r = types.SimpleNamespace()
    r.ir, r.errors = count_instructions(s, c)
    r.rows = wall_time_rows(c)
    r.t = verdicts(b, c, r.ir)
    r.invalid = [x for x in c.fast + c.scan + [c.floor2] if x.bad] + r.errors
    r.passed = sum(1 for x in r.t if x[3])
    r.elapsed = time.time() - s.t_start
    r.machine = machine_info(s, d, m)
    write_results(s.args.results or os.path.join(HERE, "RESULTS.md"),
                  results_tables(r) + results_verdicts(r, d, c) + results_notes(b))
    print_verdicts(r.t, m, r.invalid)


if __name__ == "__main__":
    main()
