#!/usr/bin/env python3
"""Renders an Elastic Filebeat chart with deploy/helm/values.yaml, offline, with Helm's
own template engine (the helm-python-sdk package binds Helm's Go SDK; no helm binary).

    render.py CHART_DIR VALUES_FILE > rendered.yaml

The chart copies under ../shared hold only the templates that matter here
(daemonset, deployment, and for 8.5.1 configmap), not the chart's _helpers.tpl.
A temporary copy of the chart gets a stand-in for the two helpers the templates
call and, where configmap.yaml is missing, an empty one (the DaemonSet template
includes it only to checksum the configuration); the rendered DaemonSet, which
is what the values change, is otherwise the chart's own.
"""
import shutil
import sys
import tempfile
from pathlib import Path

import helm_python as helm
import yaml

HELPERS = """\
{{- define "filebeat.fullname" -}}
{{- default (printf "%s-%s" .Release.Name .Chart.Name) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "filebeat.serviceAccount" -}}
{{- default (include "filebeat.fullname" .) .Values.serviceAccount -}}
{{- end -}}
"""


def main(chart_dir: str, values_file: str) -> None:
    values = yaml.safe_load(Path(values_file).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "filebeat"
        shutil.copytree(chart_dir, chart)
        helpers = chart / "templates" / "_helpers.tpl"
        if not helpers.exists():
            helpers.write_text(HELPERS)
        configmap = chart / "templates" / "configmap.yaml"
        if not configmap.exists():
            configmap.write_text("")
            print(f"render.py: {chart_dir} has no configmap.yaml: rendered without its ConfigMap", file=sys.stderr)
        with helm.Chart.load(chart) as loaded:
            rendered = loaded.render(values, name="filebeat", namespace="kube-system", is_install=True)
    docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: render.py CHART_DIR VALUES_FILE")
    main(*sys.argv[1:])
