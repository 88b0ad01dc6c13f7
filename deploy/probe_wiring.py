#!/usr/bin/env python3
"""Checks that a rendered manifest really wires logprobe into the Filebeat DaemonSet:
the install init container, the shared /probe emptyDir, the exec liveness probe, and
how Filebeat logs, which decides what the probe can read. The schema check cannot
see any of this.

    probe_wiring.py --logging files|stderr [--probe-json FILE] MANIFEST.yaml

stderr: Filebeat keeps -e (deploy/kustomize, the Helm chart, the example); the probe
        reads the kubelet's copy of it under /var/log/pods, so the filebeat container
        must mount the node's /var/log and the probe must not be limited to files.
files:  Filebeat writes log files the probe reads (deploy/kustomize-file-logs): no -e,
        file logging on, a volume at /usr/share/filebeat/logs.

--probe-json writes the filebeat container's livenessProbe as canonical JSON, so the
caller can check that every way of deploying uses the same probe.
"""
import argparse
import json
import sys

import yaml


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
    parser.add_argument("--logging", choices=["files", "stderr"], required=True)
    parser.add_argument("--probe-json", metavar="FILE")
    parser.add_argument("manifest")
    args = parser.parse_args()
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    found, probe = problems(docs, args.logging)
    for p in found:
        print(f"{args.manifest}: {p}", file=sys.stderr)
    if args.probe_json and probe is not None:
        with open(args.probe_json, "w") as f:
            json.dump(probe, f, sort_keys=True)
            f.write("\n")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
