#!/usr/bin/env python3
"""Offline checks of ECK `Beat`s (beat.k8s.elastic.co/v1beta1) for deploy/validate.sh.

    eck.py schema CRD_FILE MANIFEST...   every Beat in MANIFESTs against the CRD's schema
    eck.py pod MANIFEST                   MANIFEST with its filebeat Beat as ECK's DaemonSet
    eck.py render CHART VALUES...         the eck-beats chart rendered with VALUES files
    eck.py readme README.md               the Beat made of README's snippet for one's own Beats

schema: validates each Beat with the CRD's own v1beta1 openAPIV3Schema (python
  jsonschema), strictly as the API server's strict field validation does: an object
  schema with `properties` and without x-kubernetes-preserve-unknown-fields rejects
  unknown fields, `nullable` admits null, x-kubernetes-list-type map/set lists must
  have unique keys/items. Then the rules ECK's webhook adds
  (pkg/apis/beat/v1beta1/validations.go): exactly one of daemonSet and deployment,
  not both config and configRef, a name of at most 36 characters, a version from
  7.0.0 to 9.99.99. CEL rules (x-kubernetes-validations) are not evaluated; the CRD
  has none. Use the CRD with the full pod template schema
  (config/crds/v1/resources/beat.k8s.elastic.co_beats.yaml): the one ECK installs
  leaves the pod template unchecked (x-kubernetes-preserve-unknown-fields).

pod: prints MANIFEST's documents that are not ECK resources, and in place of its one
  Beat of type filebeat the DaemonSet ECK builds from it, as far as these checks
  need: the pod template as given, its container named after spec.type (added
  when missing) with ECK's image (spec.image, else
  docker.elastic.co/beats/<type>:<version>) and, when it sets no args, ECK's
  default args `-e -c /etc/beat.yml` (pkg/controller/beat/common/pod.go); labels
  and selector; spec.daemonSet.updateStrategy. ECK also adds the config Secret and
  the data volume; those are left out. With spec.monitoring.logs ECK drops -e and
  mounts /usr/share/<type>/logs, which is not emulated: pod refuses such a Beat.
  kubernetes-validate (which skips custom resources with a warning) and
  probe_wiring.py then check that DaemonSet.

render: renders the chart with Helm's own template engine (helm-python-sdk, no
  helm binary), the VALUES files merged as `helm -f A -f B` merges them (maps
  merge, the later file wins, lists are replaced), release `filebeat` in namespace
  `default`; prints the rendered documents. It fails when a top-level key of the
  last VALUES file does not reach the Beat: templates/beats.yaml copies only a
  fixed set of keys and drops the others silently.

readme: prints a Beat of type filebeat whose spec is the YAML block (indented 4
  spaces) that follows the line `<!-- snippet: own Beat -->` in README.md, the one
  users paste into their own Beats, so that it is checked like the others.
"""
import argparse
import copy
import re
import sys
from pathlib import Path

import yaml

GROUP = "beat.k8s.elastic.co"
# The keys templates/beats.yaml copies into the Beat (from .Values.spec.<key> or
# .Values.<key>), and where: spec.<field>, or metadata.
CHART_KEYS = {
    "version": "spec.version", "type": "spec.type", "daemonSet": "spec.daemonSet",
    "deployment": "spec.deployment", "image": "spec.image",
    "elasticsearchRef": "spec.elasticsearchRef", "kibanaRef": "spec.kibanaRef",
    "config": "spec.config", "configRef": "spec.configRef", "http": "spec.http",
    "monitoring": "spec.monitoring", "secureSettings": "spec.secureSettings",
    "revisionHistoryLimit": "spec.revisionHistoryLimit",
    "serviceAccount": "spec.serviceAccountName",
    "labels": "metadata.labels", "annotations": "metadata.annotations",
}
# Chart values that are not the Beat's (names, other templates).
CHART_OTHER = {"nameOverride", "fullnameOverride", "clusterRole", "clusterRoleBinding", "extraObjects", "spec"}


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def is_beat(doc):
    return doc.get("kind") == "Beat" and str(doc.get("apiVersion", "")).startswith(GROUP + "/")


def is_eck(doc):
    return str(doc.get("apiVersion", "")).split("/")[0].endswith(".k8s.elastic.co")


def strict(schema):
    """The CRD schema as JSON Schema that rejects what the API server's strict field
    validation rejects (see the module's doc)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: strict(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "allOf", "oneOf", "not"):
            out[key] = strict(value)
        else:
            out[key] = value
    if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def list_problems(schema, value, path):
    """x-kubernetes-list-type map/set uniqueness, which JSON Schema cannot say."""
    found = []
    if not isinstance(schema, dict):
        return found
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key, sub in value.items():
            if key in props:
                found += list_problems(props[key], sub, f"{path}.{key}" if path else key)
            elif isinstance(schema.get("additionalProperties"), dict):
                found += list_problems(schema["additionalProperties"], sub, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        if kind == "map":
            keys = schema.get("x-kubernetes-list-map-keys", [])
            seen = [tuple(item.get(k) for k in keys) for item in value if isinstance(item, dict)]
        elif kind == "set":
            seen = [yaml.safe_dump(item) for item in value]
        else:
            seen = []
        dups = sorted({str(s) for s in seen if seen.count(s) > 1})
        if dups:
            found.append(f"{path}: duplicate entries {', '.join(dups)} in a list of type {kind}")
        for i, item in enumerate(value):
            found += list_problems(schema.get("items", {}), item, f"{path}.{i}")
    return found


def version_tuple(text):
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", str(text))
    return tuple(map(int, match.groups()[:3])) if match else None


def webhook_problems(beat):
    spec = beat.get("spec", {})
    found = []
    name = beat.get("metadata", {}).get("name", "")
    if len(name) > 36:
        found.append(f"metadata.name {name!r} is longer than 36 characters")
    if ("daemonSet" in spec) == ("deployment" in spec):
        found.append("spec needs exactly one of daemonSet and deployment")
    if "config" in spec and "configRef" in spec:
        found.append("spec has both config and configRef")
    version = version_tuple(spec.get("version"))
    if version is None:
        found.append(f"spec.version {spec.get('version')!r} is not a semantic version")
    elif not (7, 0, 0) <= version <= (9, 99, 99):
        found.append(f"spec.version {spec.get('version')} is outside 7.0.0 to 9.99.99")
    return found


def schema_cmd(crd_file, manifests):
    import jsonschema

    crd = next(d for d in load(crd_file) if d.get("kind") == "CustomResourceDefinition")
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    raw = version["schema"]["openAPIV3Schema"]
    validator = jsonschema.Draft4Validator(strict(raw))
    beats = failed = 0
    for manifest in manifests:
        for doc in load(manifest):
            if not is_beat(doc):
                continue
            beats += 1
            where = f"{manifest}: Beat {doc.get('metadata', {}).get('name')}"
            if doc["apiVersion"] != f"{GROUP}/v1beta1":
                print(f"{where}: apiVersion {doc['apiVersion']}, not {GROUP}/v1beta1", file=sys.stderr)
                failed += 1
                continue
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
            found = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
            found += list_problems(raw, doc, "")
            found += webhook_problems(doc)
            for problem in found:
                print(f"{where}: {problem}", file=sys.stderr)
            failed += bool(found)
    if beats == 0:
        sys.exit(f"no {GROUP} Beat in {' '.join(manifests)}")
    print(f"{beats} Beat(s) checked against {crd_file} v1beta1, {failed} invalid", file=sys.stderr)
    sys.exit(1 if failed else 0)


def daemonset(beat):
    """The DaemonSet ECK builds for BEAT, as far as the checks need (module doc)."""
    meta, spec = beat["metadata"], beat["spec"]
    kind = spec["type"]
    if (spec.get("monitoring") or {}).get("logs"):
        raise SystemExit(f"Beat {meta['name']}: spec.monitoring.logs changes Filebeat's logging, which pod does not emulate")
    if "daemonSet" not in spec:
        raise SystemExit(f"Beat {meta['name']}: no spec.daemonSet")
    template = copy.deepcopy((spec["daemonSet"] or {}).get("podTemplate") or {})
    labels = {"beat.k8s.elastic.co/name": meta["name"], "common.k8s.elastic.co/type": "beat"}
    template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    pod = template.setdefault("spec", {})
    containers = pod.setdefault("containers", [])
    main = next((c for c in containers if c.get("name") == kind), None)
    if main is None:
        main = {"name": kind}
        containers.insert(0, main)
    main.setdefault("image", spec.get("image") or f"docker.elastic.co/beats/{kind}:{spec['version']}")
    if not main.get("args"):
        main["args"] = ["-e", "-c", "/etc/beat.yml"]
    out = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": f"{meta['name']}-beat-{kind}", "labels": dict(labels)},
        "spec": {"selector": {"matchLabels": dict(labels)}, "template": template},
    }
    if meta.get("namespace"):
        out["metadata"]["namespace"] = meta["namespace"]
    if (spec["daemonSet"] or {}).get("updateStrategy"):
        out["spec"]["updateStrategy"] = spec["daemonSet"]["updateStrategy"]
    return out


def pod_cmd(manifest):
    docs = load(manifest)
    filebeats = [d for d in docs if is_beat(d) and d.get("spec", {}).get("type") == "filebeat"]
    if len(filebeats) != 1:
        sys.exit(f"{manifest}: expected one Beat of type filebeat, found {len(filebeats)}")
    out = []
    for doc in docs:
        if doc is filebeats[0]:
            out.append(daemonset(doc))
        elif is_eck(doc):
            print(f"{manifest}: left out {doc.get('kind')} {doc.get('metadata', {}).get('name')}", file=sys.stderr)
        else:
            out.append(doc)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


def merge(base, over):
    """Helm's merge of values files: maps merge, OVER wins, lists are replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def dig(doc, dotted):
    for part in dotted.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def render_cmd(chart, values_files):
    import helm_python as helm

    values = {}
    for path in values_files:
        values = merge(values, yaml.safe_load(Path(path).read_text()) or {})
    try:
        with helm.Chart.load(chart) as loaded:
            rendered = loaded.render(values, name="filebeat", namespace="default", is_install=True)
    except helm.HelmError as e:
        sys.exit(f"{chart}: {e}")
    docs = [d for name, text in sorted(rendered.items()) if name.endswith((".yaml", ".yml"))
            for d in yaml.safe_load_all(text) if d]
    beats = [d for d in docs if is_beat(d)]
    if len(beats) != 1:
        sys.exit(f"{chart}: rendered {len(beats)} Beats, not one")
    last = yaml.safe_load(Path(values_files[-1]).read_text()) or {}
    dropped = []
    for key in last:
        if key in CHART_OTHER:
            continue
        if key not in CHART_KEYS or dig(beats[0], CHART_KEYS[key]) is None:
            dropped.append(key)
    if dropped:
        sys.exit(f"{values_files[-1]}: {', '.join(dropped)}: not in the rendered Beat "
                 f"(templates/beats.yaml passes only {', '.join(CHART_KEYS)})")
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


SNIPPET_MARK = "<!-- snippet: own Beat -->"


def readme_cmd(readme):
    lines = Path(readme).read_text().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == SNIPPET_MARK) + 1
    except StopIteration:
        sys.exit(f"{readme}: no line {SNIPPET_MARK}")
    block = []
    for line in lines[start:]:
        if line.startswith("    ") or not line.strip():
            block.append(line[4:])
        else:
            break
    snippet = yaml.safe_load("\n".join(block)) or {}
    if set(snippet) != {"spec"}:
        sys.exit(f"{readme}: the snippet after {SNIPPET_MARK} is not a `spec:` block")
    beat = {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": "Beat",
        "metadata": {"name": "filebeat"},
        "spec": merge({"type": "filebeat", "version": "9.5.2"}, snippet["spec"]),
    }
    yaml.safe_dump(beat, sys.stdout, sort_keys=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("schema")
    p.add_argument("crd")
    p.add_argument("manifests", nargs="+")
    p = sub.add_parser("pod")
    p.add_argument("manifest")
    p = sub.add_parser("render")
    p.add_argument("chart")
    p.add_argument("values", nargs="+")
    p = sub.add_parser("readme")
    p.add_argument("readme")
    args = parser.parse_args()
    if args.command == "schema":
        schema_cmd(args.crd, args.manifests)
    elif args.command == "pod":
        pod_cmd(args.manifest)
    elif args.command == "render":
        render_cmd(args.chart, args.values)
    else:
        readme_cmd(args.readme)


if __name__ == "__main__":
    main()
