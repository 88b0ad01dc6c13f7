#!/usr/bin/env python3
"""The arm64 record: the linux/arm64 executable's size and its instruction count with no
new data, beside linux/amd64's, counted the same way for both. See benches/README.md
("arm64").

Instructions are counted under qemu user mode, which runs one guest instruction per
translated block with -singlestep and, with -d nochain,exec, logs every block it
executes: the log's lines are the instructions the program executed, from its entry
point to its exit (its own code, static glibc's start-up, and none of the kernel's).
valgrind cannot run arm64 code here, so amd64 is counted under qemu-x86_64 too, and,
as a check of the method, also under callgrind (Ir), as benches/run.sh counts it.
For the record only: there is no target.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402

QEMU = {"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}
TRIPLE = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def die(msg, code=2):
    print("arm64.py: " + msg, file=sys.stderr)
    sys.exit(code)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amd64", default=os.environ.get("LOGPROBE_EXE"),
                    help="the linux/amd64 executable (default LOGPROBE_EXE, else scripts/build-static amd64)")
    ap.add_argument("--arm64", default=os.environ.get("LOGPROBE_EXE_ARM64"),
                    help="the linux/arm64 executable (default LOGPROBE_EXE_ARM64, else scripts/build-static arm64)")
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "logprobe-bench"),
                    help="where the logs (shared with benches/run.sh), states and floors go")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS-arm64.md"), help="where the record is written")
    return ap.parse_args()


def arm64_toolchain():
    """The cargo and environment that build for arm64 here, from scripts/arm64.sh."""
    r = subprocess.run(["bash", "-c", '. scripts/arm64.sh; use_arm64_toolchain arm64.py || exit 2; '
                        'printf "%s\\n%s\\n%s\\n" "$arm64_cargo" "${RUSTC:-}" "$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"'],
                       cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        die(r.stderr.strip() or "scripts/arm64.sh failed")
    cargo, rustc, linker = r.stdout.split("\n")[:3]
    env = {"CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER": linker}
    if rustc:
        env["RUSTC"] = rustc
    return cargo, env


def executables(args):
    exe = {}
    for p in ("amd64", "arm64"):
        path = getattr(args, p)
        if not path:
            print("arm64.py: building the %s executable with scripts/build-static %s" % (p, p), file=sys.stderr)
            r = subprocess.run([os.path.join(REPO, "scripts", "build-static"), p], stdout=subprocess.PIPE, text=True)
            if r.returncode != 0:
                die("scripts/build-static %s failed" % p)
            path = r.stdout.strip()
        if not os.access(path, os.X_OK):
            die("%s executable %s not found or not executable" % (p, path))
        exe[p] = os.path.abspath(path)
    return exe


def run(argv, what, expect=0):
    r = subprocess.run(argv, env=ENV, capture_output=True, text=True)
    if r.returncode != expect:
        die("%s: exit status %d, expected %d\n  command: %s\n  stderr: %s" % (
            what, r.returncode, expect, " ".join(argv), r.stderr.strip()[-500:]), 1)
    return r.stdout


def healthy_with(nbytes):
    """A check of logprobe's JSON: healthy, exactly nbytes scanned."""
    def check(out):
        try:
            j = json.loads(out)
        except ValueError:
            return "stdout is not JSON: %r" % out[:200]
        if j.get("status") != "healthy" or j.get("scanned_bytes") != nbytes:
            return "expected healthy with %d bytes scanned, got %s" % (nbytes, out.strip()[:300])
        return None
    return check


def count_insns(qemu, argv, log, check=None, what=""):
    """Guest instructions of one run of argv under qemu (see the module comment)."""
    out = run([qemu, "-singlestep", "-d", "nochain,exec", "-D", log] + argv, what)
    if check:
        problem = check(out)
        if problem:
            die("%s: %s" % (what, problem), 1)
    n = 0
    with open(log, "rb") as f:
        for line in f:
            n += line.startswith(b"Trace ")
    os.remove(log)
    return n


def callgrind_ir(argv, out, check, what):
    """amd64's Ir under callgrind, or None without valgrind."""
    if not shutil.which("valgrind"):
        return None
    r = subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=no", "--callgrind-out-file=" + out, "--"]
                       + argv, env=ENV, capture_output=True, text=True)
    problem = "exit status %d" % r.returncode if r.returncode != 0 else check and check(r.stdout)
    if problem:
        die("%s under callgrind: %s" % (what, problem), 1)
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    die("%s: no totals in callgrind output" % what, 1)


def main():
    args = parse_args()
    for p, q in QEMU.items():
        if not shutil.which(q):
            die("no %s: scripts/install-deps arm64" % q)
    exe = executables(args)
    work = os.path.abspath(args.workdir)
    run_dir = os.path.join(work, "arm64")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    patterns_file = os.path.join(HERE, "patterns.txt")
    with open(patterns_file) as f:
        patterns = [l.rstrip("\n") for l in f if l.strip()]
    data, manifest = bench.ensure_data(work, patterns)
    glob = os.path.join(data, "set7x", "filebeat*")
    size_set = sum(os.path.getsize(os.path.join(data, "set7x", n))
                   for n in ["filebeat.%d" % i for i in range(7, 0, -1)] + ["filebeat"])

    print("arm64.py: building the floors", file=sys.stderr)
    cargo, env = arm64_toolchain()
    floor = {"amd64": bench.build_floor(run_dir, os.path.join(REPO, "Cargo.toml"), TRIPLE["amd64"], name="floor-amd64")[0],
             "arm64": bench.build_floor(run_dir, os.path.join(REPO, "Cargo.toml"), TRIPLE["arm64"], cargo, env,
                                        name="floor-arm64")[0]}

    rows = {}
    for p in ("amd64", "arm64"):
        q = shutil.which(QEMU[p])
        r = types.SimpleNamespace(size=os.path.getsize(exe[p]), floor_size=os.path.getsize(floor[p]))
        print("arm64.py: %s: counting instructions under %s" % (p, QEMU[p]), file=sys.stderr)
        r.floor = count_insns(q, [floor[p]], os.path.join(run_dir, "trace"), what="%s floor" % p)
        for key, preset in (("nd", False), ("nd_p", True)):
            state = os.path.join(run_dir, "%s-%s-state" % (p, key), "state.json")
            os.makedirs(os.path.dirname(state))
            s = types.SimpleNamespace(logprobe=exe[p], patterns_file=patterns_file)
            argv = bench.lp_argv(s, state, glob, preset=preset)
            # The state an earlier run left at the end of every file, as benches/run.sh has it.
            for nbytes, what in ((size_set, "preparing"), (0, "settling")):
                problem = healthy_with(nbytes)(run([q] + argv, "%s %s the %s state" % (p, what, key)))
                if problem:
                    die("%s %s the %s state: %s" % (p, what, key, problem), 1)
            with open(state, "rb") as f:
                saved = f.read()
            setattr(r, key, count_insns(q, argv, os.path.join(run_dir, "trace"), healthy_with(0),
                                        "%s no new data (%s)" % (p, key)))
            with open(state, "rb") as f:
                if f.read() != saved:
                    die("%s no new data (%s): the run rewrote its state" % (p, key), 1)
            if p == "amd64":
                setattr(r, key + "_ir", callgrind_ir(argv, os.path.join(run_dir, "callgrind.out"),
                                                      healthy_with(0), "amd64 no new data (%s)" % key))
        if p == "amd64":
            r.floor_ir = callgrind_ir([floor[p]], os.path.join(run_dir, "callgrind.out"), None, "amd64 floor")
        rows[p] = r

    md = write(args, rows, manifest)
    print(md)


def write(args, rows, manifest):
    def n(x):
        return "—" if x is None else "{:,}".format(x)

    def x(a, b):
        return "—" if a is None or not b else "%.2f×" % (a / b)

    rustc = {p: subprocess.run(["bash", "-c", "%s --version" % c], capture_output=True, text=True).stdout.strip()
             for p, c in (("amd64", "rustc"), ("arm64", '. scripts/arm64.sh; use_arm64_toolchain arm64.py >/dev/null; "${RUSTC:-rustc}"'))}
    qemu = subprocess.run([QEMU["arm64"], "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    md = ["# logprobe on linux/arm64, beside linux/amd64\n",
          "Written by `benches/arm64.py` (see `benches/README.md`, \"arm64\"): for the record, no target. "
          "Both executables as `scripts/build-static` builds them; no new data is the steady state of "
          "`benches/run.sh` (the 8-file set, the state an earlier run left at the end of every file, "
          "`--since @0 --format json --on-error fail --budget 1h`), on the same generated logs "
          "(digest %s…).\n" % manifest["digest"][:16],
          "| | linux/amd64 | linux/arm64 |", "|---|--:|--:|",
          "| executable, bytes (static, stripped) | %s | %s |" % (n(rows["amd64"].size), n(rows["arm64"].size)),
          "| floor (`fn main(){}`, static), bytes | %s | %s |" % (n(rows["amd64"].floor_size), n(rows["arm64"].floor_size)),
          "| floor, instructions under qemu | %s | %s |" % (n(rows["amd64"].floor), n(rows["arm64"].floor))]
    for key, label in (("nd", "-f patterns.txt"), ("nd_p", "--preset filebeat")):
        a, b = getattr(rows["amd64"], key), getattr(rows["arm64"], key)
        md.append("| no new data, %s: instructions under qemu (× floor) | %s (%s) | %s (%s) |" % (
            label, n(a), x(a, rows["amd64"].floor), n(b), x(b, rows["arm64"].floor)))
    md.append("")
    md.append("amd64 under callgrind (Ir), the way `benches/run.sh` counts, as a check of the method: "
              "floor %s, no new data %s (-f patterns.txt) and %s (--preset filebeat); the floor differs "
              "most (see benches/README.md), so compare the platforms under qemu only."
              % (n(rows["amd64"].floor_ir), n(rows["amd64"].nd_ir), n(rows["amd64"].nd_p_ir)))
    md.append("")
    md.append("How: `qemu-aarch64-static` and `qemu-x86_64-static` with `-singlestep -d nochain,exec` (one "
              "instruction per translated block, every executed block logged); the count is the log's lines. "
              "Compilers: amd64 %s, arm64 %s. Host: %s, %s; %s." % (
                  rustc["amd64"], rustc["arm64"], platform.machine(), platform.platform(), qemu))
    text = "\n".join(md) + "\n"
    with open(args.results, "w") as f:
        f.write(text)
    return text


if __name__ == "__main__":
    main()
