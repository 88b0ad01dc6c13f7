"""The kubelet's part of running one pod, emulated over containerd's CRI API.

A Pod is made from a DaemonSet's pod template as deploy/ renders it and run the
way the kubelet runs it:

  - the pod's directories as the kubelet lays them out on a node, under a node
    root (a temporary directory standing for /): volumes under
    var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/<name> (and
    ~configmap, ~projected), /etc/hosts from pods/<uid>/etc-hosts and the
    termination log from pods/<uid>/containers/<name>/<id>, so the pod's UID is
    in the container's /proc/self/mountinfo; a hostPath P is <node root>/P (the
    official DaemonSets' /var/log is the node's log directory, where containerd
    writes the pod logs);
  - RunPodSandbox with log_directory /var/log/pods/<namespace>_<pod>_<uid> and
    the node's network (hostNetwork; no CNI here, so a pod without hostNetwork
    gets it too, and no hostname of its own);
  - the init containers, one after another, each to a successful exit, then the
    containers, CreateContainer with log_path <name>/<attempt>.log: containerd
    writes their stdout and stderr there as CRI records;
  - the probes as the kubelet's prober workers run them: ExecSync of the exec
    command with timeoutSeconds (containerd kills a run that overruns it),
    after initialDelaySeconds, every periodSeconds; failureThreshold consecutive
    failures (successThreshold successes) change the result, any other result
    resets the count; a liveness failure puts the worker on hold and restarts
    the container: StopContainer with the pod's terminationGracePeriodSeconds,
    the kubelet's crash-loop back-off (10 s, doubling, from the previous
    attempt's exit), CreateContainer with attempt + 1 (log <name>/<attempt+1>.log);
    the worker resumes on the new container, after its initialDelaySeconds;
  - the container log manager: every monitor period, a running container's log
    over the size limit is rotated as the kubelet does it (leftover .tmp files
    removed, the oldest rotated files beyond MaxFiles - 2 removed, the other
    rotated ones gzipped through .tmp, N.log renamed to N.log.<YYYYMMDD-hhmmss>,
    then ReopenContainerLog).

Times are scaled down by one factor (periods, initial delays, back-off, the log
monitor period, the log size limit), which the caller states in its output.

What is replaced, because it cannot exist here: images (the logprobe image by the
imported tag, Filebeat's by the stand-in's; set by the caller), env from the API
server (valueFrom: fieldRef is resolved as the kubelet does for the pod's own
fields; anything else is refused), the service account token (the projected
volume holds only its namespace file), the pod network (see above).
"""
import datetime
import glob
import gzip
import json
import os
import shutil
import threading
import time
import uuid

import grpc
import yaml


def load_template(manifest):
    """The DaemonSet's name, namespace, pod template and ConfigMaps (by name) in MANIFEST."""
    with open(manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    daemonsets = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(daemonsets) != 1:
        raise ValueError(f"{manifest}: expected one DaemonSet, found {len(daemonsets)}")
    ds = daemonsets[0]
    configmaps = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ConfigMap"}
    meta = ds["metadata"]
    return meta["name"], meta.get("namespace", "default"), ds["spec"]["template"], configmaps


class ProbeRun:
    """One probe run as the prober saw it: rc is the exit code, or None on a timeout."""

    def __init__(self, kind, attempt, start, end, rc, output):
        self.kind, self.attempt, self.start, self.end = kind, attempt, start, end
        self.rc, self.output = rc, output

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        rc = "timeout" if self.rc is None else self.rc
        return f"{self.kind} attempt {self.attempt} at {self.start:.1f}: {rc}: {self.output[:160]}"


class Container:
    """One attempt of a container in the pod."""

    def __init__(self, name, attempt, cid, started, log):
        self.name, self.attempt, self.id = name, attempt, cid
        self.started = started  # wall time StartContainer returned
        self.killed = None  # wall time the kubelet called StopContainer for a restart
        self.finished = None
        self.log = log


class Pod:
    """One pod run over the CRI the way the kubelet runs it (see the module's docstring)."""

    def __init__(self, node, name, manifest, node_root, images, scale, env=None, liveness_extra=(),
                 clock=time.time):
        self.node, self.pb, self.rt = node, node.pb, node.runtime
        self.ds_name, self.namespace, template, self.configmaps = load_template(manifest)
        self.template = json.loads(json.dumps(template))
        self.spec = self.template["spec"]
        self.name, self.uid = name, str(uuid.uuid4())
        self.root = node_root
        self.pod_dir = os.path.join(node_root, "var/lib/kubelet/pods", self.uid)
        self.log_dir = os.path.join(node_root, "var/log/pods", f"{self.namespace}_{name}_{self.uid}")
        self.images, self.scale, self.env = images, scale, dict(env or {})
        self.liveness_extra = list(liveness_extra)
        self.clock = clock
        self.sandbox = None
        self.sandbox_config = None
        self.current = {}  # container name -> Container
        self.history = []  # every Container started, in order
        self.runs = []  # ProbeRun
        self.results = {}  # (container, "liveness" or "readiness") -> the probe's result (Ready, for readiness)
        self.events = []  # (time, text), as kubectl describe pod would list them
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.restarts = 0
        self.backoff = {}  # container name -> seconds
        self.rotate_on = {}  # container name -> text: rotate right after a stderr record holding it
        self.rotations = []  # (time, rotated file)
        self.starve_next = None  # a callable run around the next liveness run (see Worker)
        self.log_max_size = 10 * 1024 * 1024 // scale
        self.log_max_files = 5

    # --- what the kubelet lays out on the node ---------------------------------------

    def event(self, text):
        with self.lock:
            self.events.append((self.clock(), text))

    def volume_path(self, volume):
        """The host path of VOLUME, made as the kubelet makes it."""
        name = volume["name"]
        if "emptyDir" in volume:
            path = os.path.join(self.pod_dir, "volumes/kubernetes.io~empty-dir", name)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o777)
        elif "configMap" in volume:
            path = os.path.join(self.pod_dir, "volumes/kubernetes.io~configmap", name)
            os.makedirs(path, exist_ok=True)
            cm = self.configmaps.get(volume["configMap"]["name"])
            if cm is None:
                raise ValueError(f"pod {self.name}: no ConfigMap {volume['configMap']['name']} in the manifest")
            for key, value in (cm.get("data") or {}).items():
                with open(os.path.join(path, key), "w") as f:
                    f.write(value)
                os.chmod(os.path.join(path, key), volume["configMap"].get("defaultMode", 0o644))
        elif "hostPath" in volume:
            path = os.path.join(self.root, volume["hostPath"]["path"].lstrip("/"))
            os.makedirs(path, exist_ok=True)
        else:
            raise ValueError(f"pod {self.name}: volume {name}: only emptyDir, configMap and hostPath are emulated")
        return path

    def service_account_dir(self):
        """The projected service account volume, without a token (there is no API server)."""
        path = os.path.join(self.pod_dir, "volumes/kubernetes.io~projected/kube-api-access-e2e")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "namespace"), "w") as f:
            f.write(self.namespace)
        return path

    def env_of(self, container):
        """Env as the kubelet resolves it: values, and fieldRef to the pod's own fields."""
        fields = {"metadata.name": self.name, "metadata.namespace": self.namespace,
                  "metadata.uid": self.uid, "spec.nodeName": "cri-e2e-node",
                  "status.hostIP": "127.0.0.1", "status.podIP": "127.0.0.1"}
        out = []
        for e in container.get("env", []):
            if "valueFrom" in e:
                ref = e["valueFrom"].get("fieldRef", {}).get("fieldPath")
                if ref not in fields:
                    raise ValueError(f"pod {self.name}: env {e['name']}: only fieldRef to {', '.join(fields)} can be resolved here")
                out.append(self.pb.KeyValue(key=e["name"], value=fields[ref]))
            else:
                out.append(self.pb.KeyValue(key=e["name"], value=str(e.get("value", ""))))
        if container["name"] == "filebeat":
            out += [self.pb.KeyValue(key=k, value=v) for k, v in self.env.items()]
        return out

    def mounts_of(self, container, volumes):
        pb = self.pb
        mounts = []
        for m in container.get("volumeMounts", []):
            host = volumes[m["name"]]
            if m.get("subPath"):
                host = os.path.join(host, m["subPath"])
            mounts.append(pb.Mount(container_path=m["mountPath"], host_path=host,
                                   readonly=bool(m.get("readOnly"))))
        mounts.append(pb.Mount(container_path="/var/run/secrets/kubernetes.io/serviceaccount",
                               host_path=self.service_account_dir(), readonly=True))
        hosts = os.path.join(self.pod_dir, "etc-hosts")
        if not os.path.exists(hosts):
            shutil.copyfile("/etc/hosts", hosts)
        mounts.append(pb.Mount(container_path="/etc/hosts", host_path=hosts))
        term = os.path.join(self.pod_dir, "containers", container["name"], uuid.uuid4().hex[:8])
        os.makedirs(os.path.dirname(term), exist_ok=True)
        open(term, "w").close()
        mounts.append(pb.Mount(container_path="/dev/termination-log", host_path=term))
        return mounts

    def image_of(self, container):
        if container["name"] == "filebeat":
            return self.images["filebeat"]
        if container["image"].split("/")[-1].startswith("logprobe"):
            return self.images["logprobe"]
        raise ValueError(f"pod {self.name}: no stand-in for container {container['name']} ({container['image']})")

    def namespaces(self):
        pb = self.pb
        pid = pb.NODE if self.spec.get("hostPID") else (pb.POD if self.spec.get("shareProcessNamespace") else pb.CONTAINER)
        return pb.NamespaceOption(network=pb.NODE, pid=pid, ipc=pb.NODE if self.spec.get("hostIPC") else pb.POD)

    def container_config(self, c, attempt, volumes):
        pb = self.pb
        sc = c.get("securityContext", {})
        security = pb.LinuxContainerSecurityContext(
            namespace_options=self.namespaces(),
            readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
            no_new_privs=sc.get("allowPrivilegeEscalation") is False,
            capabilities=pb.Capability(drop_capabilities=sc.get("capabilities", {}).get("drop", []),
                                       add_capabilities=sc.get("capabilities", {}).get("add", [])))
        if "runAsUser" in sc:
            security.run_as_user.value = sc["runAsUser"]
        resources = pb.LinuxContainerResources(cpu_quota=-1)
        memory = c.get("resources", {}).get("limits", {}).get("memory")
        if memory:
            units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
            resources.memory_limit_in_bytes = int(memory[:-2]) * units[memory[-2:]] if memory[-2:] in units else int(memory)
        return pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=c["name"], attempt=attempt),
            image=pb.ImageSpec(image=self.image_of(c)),
            command=c.get("command", []), args=c.get("args", []),
            working_dir=c.get("workingDir", ""),
            envs=self.env_of(c), mounts=self.mounts_of(c, volumes),
            log_path=f"{c['name']}/{attempt}.log",
            labels={"io.kubernetes.container.name": c["name"], "io.kubernetes.pod.name": self.name,
                    "io.kubernetes.pod.namespace": self.namespace, "io.kubernetes.pod.uid": self.uid},
            annotations={"io.kubernetes.container.restartCount": str(attempt)},
            linux=pb.LinuxContainerConfig(resources=resources, security_context=security))

    # --- the pod's life ------------------------------------------------------------------

    def start(self):
        """Runs the sandbox, the init containers to completion, then the containers, and
        starts the prober workers and the log manager."""
        pb = self.pb
        self.volumes = {v["name"]: self.volume_path(v) for v in self.spec.get("volumes", [])}
        os.makedirs(self.log_dir, exist_ok=True)
        labels = dict(self.template.get("metadata", {}).get("labels", {}))
        labels.update({"io.kubernetes.pod.name": self.name, "io.kubernetes.pod.namespace": self.namespace,
                       "io.kubernetes.pod.uid": self.uid})
        self.sandbox_config = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=self.name, uid=self.uid, namespace=self.namespace, attempt=0),
            log_directory=self.log_dir, labels=labels,
            linux=pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=self.namespaces())))
        self.sandbox = self.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=self.sandbox_config), timeout=60).pod_sandbox_id
        self.event("Scheduled: sandbox running")
        for c in self.spec.get("initContainers", []):
            started = self.create_and_start(c, 0)
            code = self.wait_exit(started.id, 30)
            started.finished = self.clock()
            if code != 0:
                raise RuntimeError(f"pod {self.name}: init container {c['name']} exited {code}; its log: {self.read(started.log)[-400:]}")
            self.event(f"Completed: init container {c['name']} exited 0")
        for c in self.spec["containers"]:
            self.current[c["name"]] = self.create_and_start(c, 0)
            for kind in ("livenessProbe", "readinessProbe"):
                if kind in c:
                    self.spawn(Worker(self, c, kind).run)
        self.spawn(self.log_manager)

    def spawn(self, target):
        t = threading.Thread(target=target, daemon=True)
        t.start()
        self.threads.append(t)

    def create_and_start(self, c, attempt):
        pb = self.pb
        config = self.container_config(c, attempt, self.volumes)
        cid = self.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=self.sandbox, config=config, sandbox_config=self.sandbox_config), timeout=60).container_id
        self.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        started = Container(c["name"], attempt, cid, self.clock(), os.path.join(self.log_dir, config.log_path))
        with self.lock:
            self.history.append(started)
        self.event(f"Started: container {c['name']} (attempt {attempt}, {cid[:12]})")
        return started

    def status(self, cid):
        return self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid), timeout=10).status

    def running(self, cid):
        return self.status(cid).state == self.pb.CONTAINER_RUNNING

    def wait_exit(self, cid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.status(cid)
            if s.state == self.pb.CONTAINER_EXITED:
                return s.exit_code
            time.sleep(0.1)
        raise RuntimeError(f"pod {self.name}: container {cid[:12]} still running after {timeout}s")

    def restart(self, c, reason):
        """Kills the container as the kubelet does after a liveness failure, and starts
        its next attempt after the crash-loop back-off."""
        try:
            self.kill_and_recreate(c, reason)
        except (grpc.RpcError, OSError, ValueError) as e:  # the scenario then sees no restart
            self.event(f"Failed: restarting container {c['name']}: {e}")

    def kill_and_recreate(self, c, reason):
        name = c["name"]
        old = self.current[name]
        self.event(f"Killing: Container {name} failed liveness probe, will be restarted ({reason[:200]})")
        grace = self.spec.get("terminationGracePeriodSeconds", 30)
        old.killed = self.clock()
        self.rt.StopContainer(self.pb.StopContainerRequest(container_id=old.id, timeout=grace), timeout=grace + 30)
        old.finished = self.clock()
        # The back-off counts from the previous attempt's exit (the kubelet looks at the
        # newest exited container before this kill): 10 s, doubling, up to 300 s.
        previous = [h for h in self.history if h.name == name and h.finished and h is not old]
        if previous:
            wait = self.backoff.get(name, 0) - (self.clock() - previous[-1].finished)
            if wait > 0:
                self.event(f"BackOff: restarting failed container {name} in {wait:.1f}s")
                self.stopping.wait(wait)
            self.backoff[name] = min(2 * self.backoff[name], 300 / self.scale) if name in self.backoff else 10 / self.scale
        if self.stopping.is_set():
            return
        new = self.create_and_start(c, old.attempt + 1)
        with self.lock:
            self.current[name] = new
            self.restarts += 1

    def teardown(self):
        """Stops the workers, then removes the pod as the kubelet does when it goes away:
        containers, sandbox, the pod's directories and its log directory."""
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=30)
        pb = self.pb
        if self.sandbox:
            for c in self.rt.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=self.sandbox)), timeout=10).containers:
                self.rt.StopContainer(pb.StopContainerRequest(container_id=c.id, timeout=5), timeout=60)
                self.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id), timeout=60)
            self.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=self.sandbox), timeout=60)
            self.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=self.sandbox), timeout=60)
        shutil.rmtree(self.pod_dir, ignore_errors=True)
        shutil.rmtree(self.log_dir, ignore_errors=True)

    # --- helpers for the scenarios --------------------------------------------------------

    def exec(self, name, cmd, timeout=10):
        """ExecSync in the current container NAME: (exit code, stdout + stderr)."""
        r = self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=self.current[name].id, cmd=cmd, timeout=timeout),
                             timeout=timeout + 10)
        return r.exit_code, (r.stdout + r.stderr).decode(errors="replace")

    @staticmethod
    def read(path):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode(errors="replace")

    def log_files(self, name, attempt=None):
        """The container's log files on the node, current, rotated and gzipped."""
        pattern = f"{attempt}.log*" if attempt is not None else "*.log*"
        return sorted(glob.glob(os.path.join(self.log_dir, name, pattern)))

    def runs_of(self, kind, attempt=None, since=0.0):
        with self.lock:
            return [r for r in self.runs if r.kind == kind and (attempt is None or r.attempt == attempt) and r.start >= since]

    # --- the container log manager --------------------------------------------------------

    def log_manager(self):
        """Rotates each running container's log when it is over the size limit (checked
        every monitor period), and right after a stderr record that holds rotate_on's text."""
        monitor = 10 / self.scale
        next_check = time.monotonic() + monitor
        while not self.stopping.wait(0.1):
            for name, c in list(self.current.items()):
                text = self.rotate_on.get(name)
                due = time.monotonic() >= next_check
                if not (text or due):
                    continue
                try:
                    if not self.running(c.id):
                        continue
                    size = os.path.getsize(c.log)
                except (OSError, grpc.RpcError):
                    continue
                try:
                    if text and any(" stderr " in x and text in x for x in self.read(c.log).splitlines()):
                        self.rotate(c)
                        self.rotate_on.pop(name, None)
                    elif due and size >= self.log_max_size:
                        self.rotate(c)
                except (OSError, grpc.RpcError) as e:  # the kubelet logs it and tries again later
                    self.event(f"Failed to rotate log for container {c.id[:12]}: {e}")
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + monitor

    def rotate(self, c):
        """One rotation of C's log, in the kubelet's order."""
        log = c.log
        rotated = sorted(glob.glob(log + ".*"))
        for f in [f for f in rotated if f.endswith(".tmp")]:
            os.remove(f)
        rotated = [f for f in rotated if not f.endswith(".tmp")]
        keep = self.log_max_files - 2
        while len(rotated) > keep:
            os.remove(rotated.pop(0))
        for f in rotated:
            if not f.endswith(".gz"):
                with open(f, "rb") as src, open(f + ".tmp", "wb") as dst:
                    dst.write(gzip.compress(src.read()))
                os.rename(f + ".tmp", f + ".gz")
                os.remove(f)
        name = f"{log}.{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        while os.path.exists(name) or os.path.exists(name + ".gz"):  # one rotation per second at most
            time.sleep(0.05)
            name = f"{log}.{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        os.rename(log, name)
        try:
            self.rt.ReopenContainerLog(self.pb.ReopenContainerLogRequest(container_id=c.id), timeout=10)
        except grpc.RpcError:
            os.rename(name, log)  # as the kubelet does when the reopen fails
            raise
        with self.lock:
            self.rotations.append((self.clock(), name))


class Worker:
    """A prober worker, as the kubelet runs one per container and probe kind."""

    def __init__(self, pod, container, kind):
        self.pod, self.container, self.kind = pod, container, kind
        spec = container[kind]
        if "exec" not in spec:
            raise ValueError(f"pod {pod.name}: {kind} of {container['name']} is not an exec probe")
        self.command = list(spec["exec"]["command"])
        if kind == "livenessProbe":
            self.command += pod.liveness_extra
        self.period = spec.get("periodSeconds", 10) / pod.scale
        self.initial_delay = spec.get("initialDelaySeconds", 0) / pod.scale
        self.timeout = spec.get("timeoutSeconds", 1)
        self.failure_threshold = spec.get("failureThreshold", 3)
        self.success_threshold = spec.get("successThreshold", 1)
        self.short = "liveness" if kind == "livenessProbe" else "readiness"

    def run(self):
        pod, name = self.pod, self.container["name"]
        # The kubelet's initial results: alive until shown otherwise, not ready until a success.
        key = (name, self.short)
        pod.results[key] = self.kind == "livenessProbe"
        last, streak, on_hold, cid = None, 0, False, None
        while not pod.stopping.is_set():
            tick = time.monotonic()
            c = pod.current.get(name)
            if c is not None and c.id != cid:
                cid, on_hold, last, streak = c.id, False, None, 0
                pod.results[key] = self.kind == "livenessProbe"
            if c is not None and not on_hold and pod.clock() - c.started >= self.initial_delay:
                ok, run = self.probe(c)
                if run is not None:
                    if ok == last:
                        streak += 1
                    else:
                        last, streak = ok, 1
                    threshold = self.success_threshold if ok else self.failure_threshold
                    if streak >= threshold:
                        pod.results[key] = ok
                        if self.kind == "livenessProbe" and not ok:
                            on_hold, streak = True, 0
                            threading.Thread(target=pod.restart, args=(self.container, run.output), daemon=True).start()
                    if not ok:
                        pod.event(f"Unhealthy: {self.short.capitalize()} probe failed: {run.output[:300]}")
            pod.stopping.wait(max(0.0, self.period - (time.monotonic() - tick)))

    def probe(self, c):
        """One run: ExecSync with timeoutSeconds. A timeout is a failure, as in the kubelet."""
        pod = self.pod
        starve = pod.starve_next if self.kind == "livenessProbe" else None
        if starve:
            pod.starve_next = None
            starve.before(c)
        start = pod.clock()
        try:
            r = pod.rt.ExecSync(pod.pb.ExecSyncRequest(container_id=c.id, cmd=self.command, timeout=self.timeout),
                                timeout=self.timeout + 30)
            rc, output = r.exit_code, (r.stdout + r.stderr).decode(errors="replace")
        except grpc.RpcError as e:
            if pod.stopping.is_set():
                return None, None
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                rc, output = None, f"command timed out: {e.details()}"
            else:  # the container is gone (being restarted): the kubelet skips such runs
                return None, None
        finally:
            if starve:
                starve.after(c)
        run = ProbeRun(self.short, c.attempt, start, pod.clock(), rc, output.strip())
        with pod.lock:
            pod.runs.append(run)
        return rc == 0, run
