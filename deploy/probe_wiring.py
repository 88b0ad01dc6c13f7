#!/usr/bin/env python3
"""Checks that a rendered manifest really wires logprobe into the Filebeat DaemonSet:
the install init container, the shared /probe emptyDir, the exec liveness probe, and
how Filebeat logs, which decides what the probe can read (--logging); or the
crash-loop guard (--guard): the exec readiness probe `logprobe ready` and the state
file it shares with the liveness probe. The schema check cannot see any of this.

    probe_wiring.py --logging files|stderr [--probe-json FILE] MANIFEST.yaml
    probe_wiring.py --guard [--readiness-json FILE] MANIFEST.yaml

stderr: Filebeat keeps -e (deploy/kustomize, the Helm chart, the example); the probe
        reads the kubelet's copy of it under /var/log/pods, so the filebeat container
        must mount the node's /var/log and the probe must not be limited to files.
files:  Filebeat writes log files the probe reads (deploy/kustomize-file-logs): no -e,
        file logging on, a volume at /usr/share/filebeat/logs.

guard:  the filebeat container's readinessProbe runs exactly READY_COMMAND; the
        liveness probe writes the state and `logprobe ready` reads it, so both name
        the same --state file, on an emptyDir mounted writable in the filebeat
        container: the guard counts the restarts in it, and a container restart
        gets a fresh root file system (an emptyDir outlives it).

--probe-json and --readiness-json write the filebeat container's livenessProbe and
readinessProbe as canonical JSON, so the caller can check that every way of
deploying uses the same probes.
"""
import argparse
import json
import sys

import yaml

READY_COMMAND = ["/probe/logprobe", "ready", "--state", "/probe/state.json"]
# Where the probe keeps its state without --state: /tmp/logprobe/state-<hash>.json.
DEFAULT_STATE = "/tmp/logprobe/state-<hash of the options>.json"


def state_path(command):
    """The --state (-s) file of a logprobe command line, or the default one."""
    path = DEFAULT_STATE
    i = 1
    while i < len(command):
        arg = command[i]
        if arg in ("--state", "-s") and i + 1 < len(command):
            path, i = command[i + 1], i + 1
        elif arg.startswith("--state="):
            path = arg[len("--state="):]
        elif arg.startswith("-s") and not arg.startswith("--") and len(arg) > 2:
            path = arg[2:]
        i += 1
    return path


def under(path, directory):
    """Whether PATH lies in DIRECTORY, by whole path components."""
    directory = directory.rstrip("/")
    return path.startswith(directory + "/")


def state_volume(container, volumes, path):
    """What holds PATH in CONTAINER: a problem, or None when it is a writable emptyDir."""
    if not path.startswith("/"):
        return f"state {path} is not an absolute path"
    mounts = [m for m in container.get("volumeMounts", []) if under(path, m["mountPath"])]
    if not mounts:
        return f"state {path} is on the container's root file system, which a restart replaces: no volume is mounted over it"
    mount = max(mounts, key=lambda m: len(m["mountPath"].rstrip("/")))
    volume = volumes.get(mount["name"], {})
    if "emptyDir" not in volume:
        kind = next((k for k in volume if k != "name"), "no volume")
        return f"state {path} is in the volume {mount['name']} at {mount['mountPath']}, a {kind}, not an emptyDir"
    if mount.get("readOnly"):
        return f"state {path} is in the emptyDir {mount['name']} mounted read-only: the liveness probe cannot write it"
    return None


def filebeat(docs):
    """The DaemonSet's filebeat container and the pod's volumes by name, or a problem."""
    sets = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(sets) != 1:
        return None, {}, [f"expected one DaemonSet, found {len(sets)}"]
    spec = sets[0]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    beats = [c for c in spec["containers"] if c["name"] == "filebeat"]
    if len(beats) != 1:
        return None, volumes, ["no container named filebeat"]
    return beats[0], volumes, []


def guard_problems(docs):
    """The crash-loop guard: `logprobe ready` as the readiness probe, reading the state
    the liveness probe writes, on an emptyDir. Returns (problems, readinessProbe)."""
    beat, volumes, found = filebeat(docs)
    if beat is None:
        return found, None
    command = beat.get("livenessProbe", {}).get("exec", {}).get("command", [])
    live_state = state_path(command)
    paths = [live_state]
    ready = beat.get("readinessProbe")
    if ready is None:
        found.append("filebeat container has no readinessProbe (the crash-loop guard)")
        ready = {}
    else:
        ready_command = ready.get("exec", {}).get("command")
        if ready_command != READY_COMMAND:
            found.append(f"readiness probe runs {ready_command}, not {READY_COMMAND}")
        if ready.get("timeoutSeconds", 1) != 5:
            found.append("readiness probe timeoutSeconds is not 5")
        if ready.get("failureThreshold", 3) != 1 or ready.get("periodSeconds", 10) != 10:
            found.append("readiness probe periodSeconds/failureThreshold differ from 10/1")
        ready_state = state_path(ready_command or [])
        if live_state != ready_state:
            found.append(f"liveness probe keeps its state in {live_state}, readiness probe reads {ready_state}")
        paths.append(ready_state)
    for path in dict.fromkeys(paths):
        problem = state_volume(beat, volumes, path)
        if problem:
            found.append(problem)
    return found, ready


def problems(docs, logging):
    sets = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(sets) != 1:
        return [f"expected one DaemonSet, found {len(sets)}"], None
    spec = sets[0]["spec"]["template"]["spec"]
    found = []
    volumes = {v["name"]: v for v in spec.get("volumes", [])}

    def mounts_probe(container):
        for m in container.get("volumeMounts", []):
            if m["mountPath"] == "/probe":
                return "emptyDir" in volumes.get(m["name"], {})
        return False

    inits = [c for c in spec.get("initContainers", []) if c.get("args") == ["install", "/probe"]]
    if len(inits) != 1:
        found.append("no init container with args [install, /probe]")
    elif not inits[0]["image"].split("/")[-1].startswith("logprobe"):
        found.append(f"install init container runs image {inits[0]['image']}, not logprobe")
    elif not mounts_probe(inits[0]):
        found.append("install init container does not mount an emptyDir at /probe")

    beats = [c for c in spec["containers"] if c["name"] == "filebeat"]
    if len(beats) != 1:
        return found + ["no container named filebeat"], None
    beat = beats[0]
    if not mounts_probe(beat):
        found.append("filebeat container does not mount the emptyDir at /probe")
    probe = beat.get("livenessProbe", {})
    command = probe.get("exec", {}).get("command", [])
    if command[:1] != ["/probe/logprobe"]:
        found.append(f"liveness probe runs {command}, not /probe/logprobe")
    if probe.get("timeoutSeconds", 1) != 5:
        found.append("liveness probe timeoutSeconds is not 5")
    if probe.get("failureThreshold", 3) != 3 or probe.get("periodSeconds", 10) != 10:
        found.append("liveness probe periodSeconds/failureThreshold differ from 10/3")

    args = beat.get("args", []) + beat.get("command", [])
    mounts = {m["mountPath"]: m for m in beat.get("volumeMounts", [])}
    if logging == "files":
        if "-e" in args:
            found.append("filebeat still runs with -e: it writes no log file")
        config = "\n".join(
            d.get("data", {}).get("filebeat.yml", "") for d in docs if d.get("kind") == "ConfigMap"
        )
        settings = " ".join(args) + "\n" + config
        for key in ("to_files", "to_stderr"):
            if f"logging.{key}" not in settings and f"{key}:" not in settings:
                found.append(f"logging.{key} is not set")
        if "/usr/share/filebeat/logs" not in mounts:
            found.append("no volume at /usr/share/filebeat/logs")
    else:
        if "-e" not in args:
            found.append("filebeat runs without -e: its log may not reach stderr, which the probe reads")
        varlog = mounts.get("/var/log")
        if varlog is None or "subPath" in varlog:
            found.append("filebeat container does not mount the node's /var/log")
        elif volumes.get(varlog["name"], {}).get("hostPath", {}).get("path") != "/var/log":
            found.append("/var/log in the filebeat container is not the node's /var/log (hostPath)")
        # --log (which replaces the preset's paths) and --preset none turn off the
        # pod-log fallback; then only an explicit --pod-logs reads pod logs.
        joined = " ".join(command).replace("=", " ")
        fallback_off = "-l" in command or "--log" in joined.split() or "--preset none" in joined
        if fallback_off and "--pod-logs" not in joined:
            found.append(f"liveness probe {command} turns off the pod-log fallback without --pod-logs")
    return found, probe


def main():
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--logging", choices=["files", "stderr"])
    mode.add_argument("--guard", action="store_true")
    parser.add_argument("--probe-json", metavar="FILE")
    parser.add_argument("--readiness-json", metavar="FILE")
    parser.add_argument("manifest")
    args = parser.parse_args()
    if args.guard and args.probe_json or args.logging and args.readiness_json:
        parser.error("--probe-json goes with --logging, --readiness-json with --guard")
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if args.guard:
        found, probe = guard_problems(docs)
        out = args.readiness_json
    else:
        found, probe = problems(docs, args.logging)
        out = args.probe_json
    for p in found:
        print(f"{args.manifest}: {p}", file=sys.stderr)
    if out and probe is not None:
        with open(out, "w") as f:
            json.dump(probe, f, sort_keys=True)
            f.write("\n")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
