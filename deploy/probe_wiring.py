#!/usr/bin/env python3
"""Checks that a rendered manifest really wires logprobe into the Filebeat DaemonSet:
the install init container, the shared /probe emptyDir, the exec liveness probe, and
how Filebeat logs, which decides what the probe can read (--logging); or the
crash-loop guard (--guard): the exec readiness probe `logprobe ready` and the state
file it shares with the liveness probe. The schema check cannot see any of this.

    probe_wiring.py --logging files|stderr|agent [--container NAME] [--probe-json FILE] MANIFEST.yaml
    probe_wiring.py --guard [--container NAME] [--readiness-json FILE] MANIFEST.yaml
    probe_wiring.py --keeps ORIGINAL.yaml MANIFEST.yaml

The probed container is the one named filebeat, or --container NAME (Elastic Agent's
elastic-agent-standalone or elastic-agent).

stderr: Filebeat keeps -e (deploy/kustomize, the Helm chart, the example, ECK's
        default args); the probe reads the kubelet's copy of it under
        /var/log/pods, so the container must mount the node's /var/log (or, as the
        ECK recipes do, the node's /var/log/pods at /var/log/pods) and the probe must
        not be limited to files.
files:  Filebeat writes log files the probe reads (deploy/kustomize-file-logs): no -e,
        file logging on, a volume at /usr/share/filebeat/logs.
agent:  Elastic Agent (deploy/kustomize-elastic-agent): the liveness probe runs the
        elastic-agent preset, which reads Agent's own ndjson files and, without them,
        the pod logs of its container: the node's /var/log (or /var/log/pods) mounted
        as for stderr. Agent's args are not checked (the managed DaemonSet has none).

In every mode the probe must find its container's pod logs by name: the container
is one the preset looks for (filebeat; elastic-agent-standalone or elastic-agent),
or the liveness command names it with --container.

guard:  the filebeat container's readinessProbe runs exactly READY_COMMAND; the
        liveness probe writes the state and `logprobe ready` reads it, so both name
        the same --state file, on an emptyDir mounted writable in the filebeat
        container: the guard counts the restarts in it, and a container restart
        gets a fresh root file system (an emptyDir outlives it).

keeps:  MANIFEST, ORIGINAL with a patch applied, still holds every resource of ORIGINAL
        with every field it had (a patch that only adds): lists of containers,
        volumes, env and the like are matched by name, volumeMounts by mountPath,
        other lists must be equal. This catches kustomize replacing a list of a
        custom resource (a Beat) whole, where it lacks the merge keys.

--probe-json and --readiness-json write the filebeat container's livenessProbe and
readinessProbe as canonical JSON, so the caller can check that every way of
deploying uses the same probes.
"""
import argparse
import json
import sys

import yaml

READY_COMMAND = ["/probe/logprobe", "ready", "--state", "/probe/state.json"]
# The containers whose pod logs each preset reads without --container (src/preset.rs).
PRESET_CONTAINERS = {"filebeat": ["filebeat"], "elastic-agent": ["elastic-agent-standalone", "elastic-agent"]}
# Where the node's pod logs may be mounted: the whole /var/log, or /var/log/pods.
POD_LOG_MOUNTS = ("/var/log", "/var/log/pods")
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


def option(command, long, short=None):
    """The values of a logprobe option (--long VALUE, --long=VALUE, -s VALUE)."""
    values = []
    for i, arg in enumerate(command[1:], 1):
        if arg in (long, short) and i + 1 < len(command):
            values.append(command[i + 1])
        elif arg.startswith(long + "="):
            values.append(arg[len(long) + 1:])
    return values


def pod_log_problem(container, volumes):
    """None when CONTAINER sees the node's pod logs at /var/log/pods: the node's
    /var/log mounted at /var/log, or its /var/log/pods at /var/log/pods (hostPath,
    whole, no subPath); else what is wrong."""
    name = container["name"]
    for mount in container.get("volumeMounts", []):
        path = mount["mountPath"].rstrip("/") or "/"
        if path not in POD_LOG_MOUNTS:
            continue
        host = volumes.get(mount["name"], {}).get("hostPath", {}).get("path", "").rstrip("/")
        if "subPath" in mount or "subPathExpr" in mount:
            return f"{path} in the {name} container is a subPath, not the node's {path}"
        if host != path:
            return f"{path} in the {name} container is not the node's {path} (hostPath)"
        return None
    return f"{name} container does not mount the node's /var/log (or /var/log/pods), where the kubelet keeps its stderr"


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


def probed(docs, container):
    """The DaemonSet's container named CONTAINER and the pod's volumes by name, or a problem."""
    sets = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(sets) != 1:
        return None, {}, [f"expected one DaemonSet, found {len(sets)}"]
    spec = sets[0]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    beats = [c for c in spec["containers"] if c["name"] == container]
    if len(beats) != 1:
        return None, volumes, [f"no container named {container}"]
    return beats[0], volumes, []


def guard_problems(docs, container="filebeat"):
    """The crash-loop guard: `logprobe ready` as the readiness probe, reading the state
    the liveness probe writes, on an emptyDir. Returns (problems, readinessProbe)."""
    beat, volumes, found = probed(docs, container)
    if beat is None:
        return found, None
    command = beat.get("livenessProbe", {}).get("exec", {}).get("command", [])
    live_state = state_path(command)
    paths = [live_state]
    ready = beat.get("readinessProbe")
    if ready is None:
        found.append(f"{container} container has no readinessProbe (the crash-loop guard)")
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


def problems(docs, logging, container="filebeat"):
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

    beats = [c for c in spec["containers"] if c["name"] == container]
    if len(beats) != 1:
        return found + [f"no container named {container}"], None
    beat = beats[0]
    if not mounts_probe(beat):
        found.append(f"{container} container does not mount the emptyDir at /probe")
    probe = beat.get("livenessProbe", {})
    command = probe.get("exec", {}).get("command", [])
    if command[:1] != ["/probe/logprobe"]:
        found.append(f"liveness probe runs {command}, not /probe/logprobe")
    if probe.get("timeoutSeconds", 1) != 5:
        found.append("liveness probe timeoutSeconds is not 5")
    if probe.get("failureThreshold", 3) != 3 or probe.get("periodSeconds", 10) != 10:
        found.append("liveness probe periodSeconds/failureThreshold differ from 10/3")
    presets = option(command, "--preset") or ["filebeat"]
    preset = presets[-1]
    if logging == "agent" and preset != "elastic-agent":
        found.append(f"liveness probe {command} runs the {preset} preset, not --preset elastic-agent (Agent's logs and rules)")
    elif logging != "agent" and preset != "filebeat":
        found.append(f"liveness probe {command} runs the {preset} preset, not Filebeat's")
    if not option(command, "--container") and container not in PRESET_CONTAINERS.get(preset, [container]):
        found.append(
            f"the {preset} preset reads the pod logs of a container named "
            f"{' or '.join(PRESET_CONTAINERS[preset])}, not {container}, and {command} has no --container")

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
        if logging == "stderr" and "-e" not in args:
            found.append("filebeat runs without -e: its log may not reach stderr, which the probe reads")
        problem = pod_log_problem(beat, volumes)
        if problem:
            found.append(problem)
        # --log (which replaces the preset's paths) and --preset none turn off the
        # pod-log fallback; then only an explicit --pod-logs reads pod logs.
        joined = " ".join(command).replace("=", " ")
        fallback_off = "-l" in command or "--log" in joined.split() or "--preset none" in joined
        if fallback_off and "--pod-logs" not in joined:
            found.append(f"liveness probe {command} turns off the pod-log fallback without --pod-logs")
    return found, probe


def dropped(old, new, path):
    """What of OLD is missing or changed in NEW (see --keeps)."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{path}: was a map, is now {new!r}"]
        found = []
        for key, value in old.items():
            if value is None and new.get(key) is None:
                continue  # `value:` with nothing after it: kustomize drops it, the same as absent
            if key not in new:
                found.append(f"{path}.{key}: dropped")
            else:
                found += dropped(value, new[key], f"{path}.{key}")
        return found
    if isinstance(old, list) and isinstance(new, list) and old and all(isinstance(i, dict) for i in old):
        key = "mountPath" if path.endswith(".volumeMounts") else "name"
        if all(key in i for i in old):
            by_key = {i.get(key): i for i in new if isinstance(i, dict)}
            found = []
            for item in old:
                where = f"{path}[{key}={item[key]}]"
                if item[key] not in by_key:
                    found.append(f"{where}: dropped")
                else:
                    found += dropped(item, by_key[item[key]], where)
            return found
    if old != new:
        return [f"{path}: was {old!r}, is now {new!r}"]
    return []


def keeps_problems(original, docs):
    def ident(d):
        meta = d.get("metadata", {})
        return d.get("kind"), meta.get("namespace"), meta.get("name")

    index = {ident(d): d for d in docs}
    found = []
    for doc in original:
        kind, namespace, name = ident(doc)
        where = f"{kind} {namespace + '/' if namespace else ''}{name}"
        if ident(doc) not in index:
            found.append(f"{where}: missing")
        else:
            found += dropped(doc, index[ident(doc)], where)
    return found


def main():
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--logging", choices=["files", "stderr", "agent"])
    mode.add_argument("--guard", action="store_true")
    mode.add_argument("--keeps", metavar="ORIGINAL")
    parser.add_argument("--container", default="filebeat", help="the probed container (default filebeat)")
    parser.add_argument("--probe-json", metavar="FILE")
    parser.add_argument("--readiness-json", metavar="FILE")
    parser.add_argument("manifest")
    args = parser.parse_args()
    if args.guard and args.probe_json or args.logging and args.readiness_json:
        parser.error("--probe-json goes with --logging, --readiness-json with --guard")
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if args.keeps:
        with open(args.keeps) as f:
            found, probe = keeps_problems([d for d in yaml.safe_load_all(f) if d], docs), None
        out = None
    elif args.guard:
        found, probe = guard_problems(docs, args.container)
        out = args.readiness_json
    else:
        found, probe = problems(docs, args.logging, args.container)
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
