"""A private containerd, started and stopped the way a node's would be, but by hand.

No systemd here: containerd runs as a child of this process, with its own root,
state, socket and CNI directories under one temporary directory, and the CRI
plugin's settings ../shared/containers-here.md lists for these machines
(restrict_oom_score_adj, a locally built pause image, the native snapshotter,
runc through io.containerd.runc.v2). This process makes itself a child
subreaper, so the shims containerd starts (which detach from it) stay its
descendants: it can reap them and prove, at the end, that none is left.
"""
import ctypes
import os
import signal
import subprocess
import time

import grpc

PR_SET_CHILD_SUBREAPER = 36


class Containerd:
    """containerd with the CRI plugin, under DIR; stopped by its pid."""

    def __init__(self, directory, pause_image, api):
        self.dir = directory
        self.sock = os.path.join(directory, "containerd.sock")
        self.config = os.path.join(directory, "config.toml")
        self.log = os.path.join(directory, "containerd.log")
        self.pause_image = pause_image
        self.pb, self.rpc = api
        self.proc = None
        self.runtime = None
        self.images = None

    def write_config(self):
        d = self.dir
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        # TOML: every key after a [table] header belongs to that table, so each
        # table's keys come right after its header.
        text = f"""version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{self.sock}"
[plugins]
  [{cri}]
    sandbox_image = "{self.pause_image}"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [{cri}.containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
  [{cri}.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [{cri}.cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
  [plugins."io.containerd.internal.v1.opt"]
    path = "{d}/opt"
"""
        with open(self.config, "w") as f:
            f.write(text)

    def start(self, timeout=20):
        """Starts containerd and waits until its CRI answers Version."""
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.write_config()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["containerd", "--config", self.config], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        with open(os.path.join(self.dir, "containerd.pid"), "w") as f:
            f.write(f"{self.proc.pid}\n")
        channel = grpc.insecure_channel(f"unix://{self.sock}")
        self.runtime = self.rpc.RuntimeServiceStub(channel)
        self.images = self.rpc.ImageServiceStub(channel)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                with open(self.log) as f:
                    last = [line.strip() for line in f if "level=error" in line or "level=fatal" in line][-1:]
                raise RuntimeError(f"containerd exited ({self.proc.returncode}): {' '.join(last) or 'see ' + self.log}")
            try:
                return self.runtime.Version(self.pb.VersionRequest(), timeout=2)
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"containerd's CRI did not answer within {timeout}s; see {self.log}")
                time.sleep(0.2)

    def import_image(self, archive, platform):
        """Imports an OCI archive into the k8s.io namespace (the CRI's) for PLATFORM;
        returns the names ctr unpacked."""
        out = subprocess.run(["ctr", "-a", self.sock, "-n", "k8s.io", "images", "import",
                              "--platform", platform, archive],
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"ctr images import {archive}: {out.stderr.strip() or out.stdout.strip()}")
        return [line.split()[1] for line in out.stdout.splitlines() if line.startswith("unpacking ")]

    def image_tags(self):
        """Every repo tag the CRI's image service lists."""
        resp = self.images.ListImages(self.pb.ListImagesRequest(), timeout=10)
        return sorted(t for i in resp.images for t in i.repo_tags)

    def shims(self):
        """The live shim processes of this containerd (by its socket in their argv)."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and b"containerd-shim" in argv[0] and self.sock.encode() in argv:
                found.append(int(pid))
        return found

    def mounts(self):
        """Mount points under DIR still mounted."""
        with open("/proc/self/mounts") as f:
            return [line.split()[1] for line in f if line.split()[1].startswith(self.dir + "/")]

    def reap(self):
        """Reaps exited descendants (shims reparented to this subreaper)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def remove_everything(self):
        """Stops and removes every container and sandbox this containerd runs, as the
        kubelet does when pods go away; returns what it removed."""
        pb, rt = self.pb, self.runtime
        containers = rt.ListContainers(pb.ListContainersRequest(), timeout=10).containers
        for c in containers:
            rt.StopContainer(pb.StopContainerRequest(container_id=c.id, timeout=0), timeout=30)
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id), timeout=30)
        sandboxes = rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=10).items
        for s in sandboxes:
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
        return len(containers), len(sandboxes)

    def stop(self, timeout=15):
        """SIGTERM to containerd's pid, SIGKILL after TIMEOUT seconds; returns how it ended."""
        if self.proc is None or self.proc.poll() is not None:
            return "not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
            how = f"stopped by SIGTERM to pid {self.proc.pid}"
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            how = f"killed (SIGKILL) pid {self.proc.pid} after {timeout}s"
        self.reap()
        return how
