#!/usr/bin/env python3
"""Turns the Filebeat (or Elastic Agent) DaemonSet of a rendered deploy/ manifest
into a Pod that `podman kube play` can run on a machine without a cluster or a
registry.

    pod_from_daemonset.py MANIFEST --name NAME --logprobe-image IMG --standin-image IMG
                          [--container NAME] [--env NAME=VALUE ...]
                          [--host-path PATH=DIR ...] [--mount DIR:PATH ...]
                          [--hostname NAME] [--sandbox-keeper IMG] > pod.yaml

What changes, and why; everything else (init container, probe, args, mounts,
emptyDirs, ConfigMaps) is played as deploy/ wrote it:
  - DaemonSet -> Pod (podman plays no DaemonSet), restartPolicy OnFailure (podman 4.3
    restarts init containers forever under Always);
  - the logprobe image and the image of the container --container names
    (default filebeat; Agent's: elastic-agent-standalone, elastic-agent) -> local
    ones (--standin-image), never pulled;
  - hostPath volumes -> emptyDir, hostNetwork dropped: leave the host alone; but
    --host-path PATH=DIR keeps a hostPath volume of PATH, pointed at DIR (the e2e
    node's /var/log, where the kubelet emulation writes pod logs);
  - --mount DIR:PATH mounts DIR (a file or directory; hostPath) read-only at PATH
    in that container, as the kubelet mounts the service account's
    namespace file and the termination log;
  - --hostname sets the pod's hostname (podman's default is the pod's name; with
    hostNetwork a pod's hostname is the node's);
  - env taken from the API server (valueFrom) dropped: there is none;
  - --env added to that container (settings of the stand-in);
  - --sandbox-keeper adds a container e2e-sandbox of IMG (with /bin/sh) that only
    waits: podman 4.3 plays every pod with exit policy stop, which stops the infra
    container once the last container has exited, and a container restarted then
    (podman restart) cannot join the pod's namespaces; the kubelet's pod sandbox
    outlives its containers' restarts;
  - volumes and ConfigMaps renamed NAME-<name>: podman 4.3 makes each emptyDir and
    ConfigMap a volume named after it, which pods played side by side would share.
"""
import argparse
import sys

import yaml


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest")
    parser.add_argument("--name", required=True)
    parser.add_argument("--logprobe-image", required=True)
    parser.add_argument("--standin-image", required=True)
    parser.add_argument("--container", default="filebeat")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--host-path", action="append", default=[], metavar="PATH=DIR")
    parser.add_argument("--mount", action="append", default=[], metavar="DIR:PATH")
    parser.add_argument("--hostname")
    parser.add_argument("--sandbox-keeper", metavar="IMG")
    args = parser.parse_args()
    host_paths = dict(h.split("=", 1) for h in args.host_path)

    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    (daemonset,) = [d for d in docs if d["kind"] == "DaemonSet"]
    template = daemonset["spec"]["template"]
    spec = template["spec"]

    for key in ("hostNetwork", "dnsPolicy", "serviceAccountName"):
        spec.pop(key, None)
    spec["restartPolicy"] = "OnFailure"
    if args.hostname:
        spec["hostname"] = args.hostname
    configmaps = [d for d in docs if d["kind"] == "ConfigMap"]
    for configmap in configmaps:
        configmap["metadata"]["name"] = f"{args.name}-{configmap['metadata']['name']}"
    renamed = {}
    for volume in spec.get("volumes", []):
        renamed[volume["name"]] = volume["name"] = f"{args.name}-{volume['name']}"
        if "configMap" in volume:
            volume["configMap"]["name"] = f"{args.name}-{volume['configMap']['name']}"
        if "hostPath" in volume:
            if volume["hostPath"]["path"] in host_paths:
                volume["hostPath"] = {"path": host_paths.pop(volume["hostPath"]["path"]), "type": "Directory"}
            else:
                del volume["hostPath"]
                volume["emptyDir"] = {}
    if host_paths:
        sys.exit(f"pod_from_daemonset.py: no hostPath volume of {', '.join(host_paths)}")
    extra_mounts = []
    for i, m in enumerate(args.mount):
        source, path = m.split(":", 1)
        name = f"{args.name}-mount-{i}"
        spec.setdefault("volumes", []).append({"name": name, "hostPath": {"path": source}})
        renamed[name] = name
        extra_mounts.append({"name": name, "mountPath": path, "readOnly": True})
    if args.container not in [c["name"] for c in spec["containers"]]:
        sys.exit(f"pod_from_daemonset.py: no container {args.container} in the DaemonSet")
    for container in spec.get("initContainers", []) + spec["containers"]:
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed[mount["name"]]
        if container["name"] == args.container:
            container["image"] = args.standin_image
            container["volumeMounts"] = container.get("volumeMounts", []) + extra_mounts
            container["env"] = [e for e in container.get("env", []) if "valueFrom" not in e]
            container["env"] += [dict(zip(("name", "value"), e.split("=", 1))) for e in args.env]
        elif container["image"].split("/")[-1].startswith("logprobe"):
            container["image"] = args.logprobe_image
        else:
            sys.exit(f"pod_from_daemonset.py: unexpected container {container['name']}")
        container["imagePullPolicy"] = "Never"

    if args.sandbox_keeper:
        spec["containers"].append({
            "name": "e2e-sandbox",
            "image": args.sandbox_keeper,
            "imagePullPolicy": "Never",
            "command": ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"],
        })

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": args.name, "labels": template["metadata"].get("labels", {})},
        "spec": spec,
    }
    yaml.safe_dump_all(configmaps + [pod], sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
