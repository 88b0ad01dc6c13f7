#!/usr/bin/env python3
"""Checks that a rendered manifest really wires logprobe into the Filebeat DaemonSet:
the install init container, the shared /probe emptyDir, the exec liveness probe, and
how Filebeat logs. The schema check cannot see any of this.

    probe_wiring.py --logging files|stderr MANIFEST.yaml

files:  Filebeat writes log files the probe reads (no -e, file logging on).
stderr: Filebeat keeps -e (the Helm chart pins it); the probe reads the kubelet's copy.
"""
import argparse
import sys

import yaml


def problems(docs, logging):
    sets = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(sets) != 1:
        return [f"expected one DaemonSet, found {len(sets)}"]
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
        return found + ["no container named filebeat"]
    beat = beats[0]
    if not mounts_probe(beat):
        found.append("filebeat container does not mount the emptyDir at /probe")
    probe = beat.get("livenessProbe", {})
    command = probe.get("exec", {}).get("command", [])
    if command[:1] != ["/probe/logprobe"]:
        found.append(f"liveness probe runs {command}, not /probe/logprobe")
    if not 2 <= probe.get("timeoutSeconds", 1) <= 5:
        found.append("liveness probe timeoutSeconds outside 2..5")
    if probe.get("failureThreshold", 3) != 3 or probe.get("periodSeconds", 10) != 10:
        found.append("liveness probe periodSeconds/failureThreshold differ from 10/3")

    args = beat.get("args", []) + beat.get("command", [])
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
        if not any(m["mountPath"] == "/usr/share/filebeat/logs" for m in beat.get("volumeMounts", [])):
            found.append("no volume at /usr/share/filebeat/logs")
    else:
        if not any(m["mountPath"] == "/var/log" for m in beat.get("volumeMounts", [])):
            found.append("filebeat container does not mount the node's /var/log")
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--logging", choices=["files", "stderr"], required=True)
    parser.add_argument("manifest")
    args = parser.parse_args()
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    found = problems(docs, args.logging)
    for p in found:
        print(f"{args.manifest}: {p}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
