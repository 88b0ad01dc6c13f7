#!/usr/bin/env python3
"""Deterministic generator of realistic Filebeat log files for the benchmark.

The same version and seed give byte-identical files on every machine: the
generator uses its own seeded PRNG and no clock, locale or hash ordering.

Line shapes follow what Filebeat writes (see shared/samples):
  7.x  TIME<TAB>LEVEL<TAB>[logger]<TAB>file.go:N<TAB>message[<TAB>{json}]
  8.x  one ECS JSON object a line: {"log.level":…,"@timestamp":…,"message":…}
Both include the long "Non-zero metrics in the last 30s" lines that Filebeat
logs every 30 s and that make up much of a real log's bytes. No line holds any
of the benchmark's patterns (checked here), so every tool reads every byte.
"""

import copy
import os
import random
import sys

GEN_VERSION = "4"  # bump when the output changes; invalidates cached data
SEED = 20261126
MIB = 1024 * 1024

# 2026-11-20T00:00:00Z in milliseconds since the epoch.
T0_MS = 1_795_132_800_000


def ts(ms):
    """RFC 3339 UTC with milliseconds, as Filebeat writes it (no datetime: speed)."""
    secs, milli = divmod(ms, 1000)
    days, sod = divmod(secs, 86400)
    # civil_from_days (Howard Hinnant), days since 1970-01-01
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    h, rem = divmod(sod, 3600)
    mi, s = divmod(rem, 60)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, m, d, h, mi, s, milli)


NAMESPACES = ["default", "kube-system", "monitoring", "payments", "checkout",
              "search", "ingress-nginx", "logging", "batch-jobs", "web"]
APPS = ["api", "worker", "frontend", "redis", "postgres", "nginx", "fluent",
        "scheduler", "cron", "auth", "cart", "orders", "indexer", "gateway"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.ms = T0_MS
        self.next_metrics = T0_MS + 30_000
        self.uptime0 = T0_MS - 3_600_000
        self.pending = None
        self.ticks = 41_000
        self.events = 123_456
        self.write_bytes = 98_765_432
        self.ephemeral = self.hexid(8) + "-" + self.hexid(4) + "-" + self.hexid(4) + "-" + self.hexid(4) + "-" + self.hexid(12)

    def hexid(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def container_log(self):
        r = self.r
        ns = r.choice(NAMESPACES)
        app = r.choice(APPS)
        pod = "%s-%s-%s" % (app, self.hexid(10)[:10], self.hexid(5))
        return "/var/log/containers/%s_%s_%s-%s.log" % (pod, ns, app, self.hexid(64))

    def ip(self):
        r = self.r
        return "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(1, 255))

    # Each event: (level, logger or None, origin file, line, function, message, extra json or None)
    def event(self):
        r = self.r
        k = r.randrange(100)
        if k < 22:
            return ("INFO", "input.harvester", "log/harvester.go", 309,
                    "github.com/elastic/beats/v7/filebeat/input/log.(*Harvester).Run",
                    "Harvester started for file: " + self.container_log(), None)
        if k < 36:
            return ("INFO", "input.harvester", "log/harvester.go", 336,
                    "github.com/elastic/beats/v7/filebeat/input/log.(*Harvester).Run",
                    "File is inactive: %s. Closing because close_inactive of 5m0s reached." % self.container_log(), None)
        if k < 44:
            return ("INFO", "input.harvester", "log/harvester.go", 338,
                    "github.com/elastic/beats/v7/filebeat/input/log.(*Harvester).Run",
                    "Reader was closed: %s. Closing." % self.container_log(), None)
        if k < 52:
            return ("INFO", "input", "log/input.go", 171,
                    "github.com/elastic/beats/v7/filebeat/input/log.NewInput",
                    "Configured paths: [/var/log/containers/*%s.log]" % self.hexid(64), None)
        if k < 58:
            return ("INFO", "input", "log/input.go", 134,
                    "github.com/elastic/beats/v7/filebeat/input/log.(*Input).Run",
                    "Starting input of type: container; ID: %d " % r.getrandbits(63), None)
        if k < 62:
            return ("INFO", "input", "input/input.go", 136,
                    "github.com/elastic/beats/v7/filebeat/input.(*Runner).Run",
                    "input ticker stopped", None)
        if k < 68:
            return ("INFO", "autodiscover", "cfgfile/list.go", 63,
                    "github.com/elastic/beats/v7/libbeat/cfgfile.(*RunnerList).Reload",
                    "Starting reload procedure, current runners: %d" % r.randrange(1, 90), None)
        if k < 72:
            return ("INFO", "autodiscover", "cfgfile/list.go", 100,
                    "github.com/elastic/beats/v7/libbeat/cfgfile.(*RunnerList).Reload",
                    "Starting runner: input [type=container]", None)
        if k < 76:
            return ("INFO", "autodiscover", "cfgfile/list.go", 140,
                    "github.com/elastic/beats/v7/libbeat/cfgfile.(*RunnerList).Reload",
                    "Stopping runner: input [type=container]", None)
        if k < 82:
            return ("ERROR", "publisher_pipeline_output", "pipeline/client_worker.go", 176,
                    "github.com/elastic/beats/v7/libbeat/publisher/pipeline.(*netClientWorker).run",
                    "failed to publish events: write tcp %s:%d->%s:5044: write: connection reset by peer"
                    % (self.ip(), r.randrange(32768, 61000), self.ip()), None)
        if k < 86:
            return ("ERROR", "logstash", "logstash/async.go", 280,
                    "github.com/elastic/beats/v7/libbeat/outputs/logstash.(*msgRef).dec",
                    "Failed to publish events caused by: write tcp %s:%d->%s:5044: write: connection reset by peer"
                    % (self.ip(), r.randrange(32768, 61000), self.ip()), None)
        if k < 89:
            return ("INFO", "publisher_pipeline_output", "pipeline/client_worker.go", 139,
                    "github.com/elastic/beats/v7/libbeat/publisher/pipeline.(*netClientWorker).run",
                    "Connecting to backoff(async(tcp://logstash.logging.svc:5044))", None)
        if k < 92:
            return ("INFO", "publisher_pipeline_output", "pipeline/client_worker.go", 147,
                    "github.com/elastic/beats/v7/libbeat/publisher/pipeline.(*netClientWorker).run",
                    "Connection to backoff(async(tcp://logstash.logging.svc:5044)) established", None)
        if k < 94:
            # Benign look-alike (beats #17724): says "not finished" but is not the stuck error.
            return ("ERROR", "input", "log/input.go", 525,
                    "github.com/elastic/beats/v7/filebeat/input/log.(*Input).Run",
                    "State for  should have been dropped, but couldn't as state is not finished.", None)
        if k < 96:
            # "Error creating runner from config" with a cause a restart does not cure.
            return ("ERROR", "autodiscover", "cfgfile/list.go", 96,
                    "github.com/elastic/beats/v7/libbeat/cfgfile.(*RunnerList).Reload",
                    "Error creating runner from config: No paths were defined for input accessing config", None)
        if k < 98:
            return ("WARN", "input", "log/input.go", 89,
                    "github.com/elastic/beats/v7/filebeat/input/log.NewInput",
                    "DEPRECATED: Log input. Use Filestream input instead.", None)
        return ("INFO", "add_kubernetes_metadata", "add_kubernetes_metadata/kubernetes.go", 144,
                "github.com/elastic/beats/v7/libbeat/processors/add_kubernetes_metadata.(*kubernetesAnnotator).init",
                "Performing a resource sync for *v1.PodList", None)

    def metrics(self, ecs):
        """The body of a "Non-zero metrics in the last 30s" line (about 1.2-1.5 KB)."""
        r = self.r
        self.ticks += r.randrange(20, 400)
        added = r.randrange(0, 6000)
        self.events += added
        wb = r.randrange(0, 4_000_000)
        self.write_bytes += wb
        up = self.ms - self.uptime0
        sysms, userms = r.randrange(0, 300), r.randrange(0, 900)
        l1, l5, l15 = r.randrange(0, 800) / 100, r.randrange(0, 600) / 100, r.randrange(0, 400) / 100
        body = (
            '{"beat":{"cgroup":{"cpu":{"stats":{"periods":%d,"throttled":{"ns":%d,"periods":%d}}},'
            '"memory":{"mem":{"usage":{"bytes":%d}}}},"cpu":{"system":{"ticks":%d,"time":{"ms":%d}},'
            '"total":{"ticks":%d,"time":{"ms":%d},"value":%d},"user":{"ticks":%d,"time":{"ms":%d}}},'
            '"handles":{"limit":{"hard":1048576,"soft":1048576},"open":%d},"info":{"ephemeral_id":"%s",'
            '"uptime":{"ms":%d},"version":"%s"},"memstats":{"gc_next":%d,"memory_alloc":%d,'
            '"memory_total":%d,"rss":%d},"runtime":{"goroutines":%d}},"filebeat":{"events":{"active":%d,'
            '"added":%d,"done":%d},"harvester":{"closed":%d,"open_files":%d,"running":%d,"started":%d}},'
            '"libbeat":{"config":{"module":{"running":0},"reloads":%d,"scans":%d},"output":{"events":{"acked":%d,'
            '"active":0,"batches":%d,"total":%d},"read":{"bytes":%d},"type":"logstash","write":{"bytes":%d}},'
            '"pipeline":{"clients":%d,"events":{"active":%d,"filtered":%d,"published":%d,"retry":%d,"total":%d},'
            '"queue":{"acked":%d,"max_events":4096}}},"registrar":{"states":{"current":%d,"update":%d},'
            '"writes":{"success":%d,"total":%d}},"system":{"load":{"1":%.2f,"15":%.2f,"5":%.2f,'
            '"norm":{"1":%.4f,"15":%.4f,"5":%.4f}}}}'
        ) % (
            r.randrange(100, 300), r.randrange(0, 10**9), r.randrange(0, 50),
            r.randrange(10**8, 4 * 10**8), self.ticks // 3, sysms, self.ticks, sysms + userms, self.ticks,
            self.ticks - self.ticks // 3, userms, r.randrange(10, 300), self.ephemeral, up,
            "8.15.3" if ecs else "7.17.25", r.randrange(10**7, 10**8), r.randrange(10**7, 10**8),
            r.randrange(10**10, 10**11), r.randrange(10**8, 3 * 10**8), r.randrange(40, 400),
            r.randrange(0, 4096), added, added, r.randrange(0, 40), r.randrange(1, 300), r.randrange(1, 300),
            r.randrange(0, 40), r.randrange(0, 5), r.randrange(0, 5), added, r.randrange(1, 60), added,
            r.randrange(0, 5000), wb, r.randrange(1, 300), r.randrange(0, 4096), r.randrange(0, 50), added,
            r.randrange(0, 2048), added, added, r.randrange(100, 3000), added, r.randrange(1, 60),
            r.randrange(1, 60), l1, l15, l5, l1 / 8, l15 / 8, l5 / 8,
        )
        return body

    def next_line(self, ecs):
        """One line (with its newline) in 7.x text (ecs False) or 8.x ndjson (ecs True) shape."""
        r = self.r
        if self.ms >= self.next_metrics:
            self.ms = self.next_metrics + r.randrange(0, 20)
            self.next_metrics += 30_000
            body = self.metrics(ecs)
            if ecs:
                return ('{"log.level":"info","@timestamp":"%s","log.logger":"monitoring",'
                        '"log.origin":{"function":"github.com/elastic/beats/v7/libbeat/monitoring/report/log.(*reporter).logSnapshot",'
                        '"file.name":"log/log.go","file.line":187},"message":"Non-zero metrics in the last 30s",'
                        '"service.name":"filebeat","monitoring":{"metrics":%s,"ecs.version":"1.6.0"}}\n'
                        % (ts(self.ms), body))
            return ('%s\tINFO\t[monitoring]\tlog/log.go:184\tNon-zero metrics in the last 30s\t'
                    '{"monitoring": {"metrics": %s}}\n' % (ts(self.ms), body))
        # A busy node: a few events a second on average, in bursts.
        self.ms += r.choice((1, 2, 3, 5, 20, 100, 400, 1500, 3000, 5000))
        level, logger, ofile, oline, func, msg, _ = self.event()
        if ecs:
            msg_j = msg.replace("\\", "\\\\").replace('"', '\\"')
            extra = ""
            if level == "ERROR" and r.randrange(2):
                extra = ',"error":{"message":"%s"}' % msg_j.split(": ", 1)[-1]
            return ('{"log.level":"%s","@timestamp":"%s","log.logger":"%s","log.origin":{"function":"%s",'
                    '"file.name":"%s","file.line":%d},"message":"%s"%s,"service.name":"filebeat","ecs.version":"1.6.0"}\n'
                    % (level.lower(), ts(self.ms), logger, func, ofile, oline, msg_j, extra))
        if logger.startswith("input") and r.randrange(3) == 0:
            return "%s\t%s\t%s:%d\t%s\n" % (ts(self.ms), level, ofile, oline, msg)
        return "%s\t%s\t[%s]\t%s:%d\t%s\n" % (ts(self.ms), level, logger, ofile, oline, msg)

    def fill(self, f, limit, ecs):
        """Write whole lines to f until the next line would pass `limit` bytes; returns bytes written."""
        size = 0
        buf = []
        pending = self.pending  # the line that did not fit in the previous file
        while True:
            line = pending or self.next_line(ecs)
            pending = None
            n = len(line)  # ASCII only
            if size + n > limit:
                pending = line
                break
            buf.append(line)
            size += n
            if len(buf) >= 4096:
                f.write("".join(buf).encode("ascii"))
                buf.clear()
        f.write("".join(buf).encode("ascii"))
        self.pending = pending
        return size


def steady_tail(g, span_ms=10_000):
    """What Filebeat writes to its current file in ~10 s (span_ms) of logging at its default
    level (no DEBUG lines), right after `g`'s last line: a few lines and exactly one
    `Non-zero metrics in the last 30s` report, 7.x text. `g` itself is left as it is."""
    g = copy.deepcopy(g)
    g.pending = None  # the line that did not fit in the file opens the 1 MiB tail instead
    # Start the span so that the next report falls ~7 s into it (after a quiet spell if need be).
    start = max(g.ms, g.next_metrics - 7_000)
    g.ms = start
    lines = []
    while True:
        line = g.next_line(ecs=False)
        if g.ms < start + span_ms:
            lines.append(line)
        elif g.ms < g.next_metrics:  # past the span with the report written
            break
        # else: a line past the span comes before the report is due; the report is next
    reports = sum("Non-zero metrics in the last 30s" in l for l in lines)
    if reports != 1:
        sys.exit("generator bug: the steady-state tail holds %d metrics reports, not 1" % reports)
    return "".join(lines).encode("ascii")


def check_clean(paths, patterns):
    """Fails loudly if a generated file holds a pattern (then tools would stop early)."""
    pats = [p.encode() for p in patterns]
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        for pat in pats:
            if pat in data:
                sys.exit("generator bug: %s contains %r" % (p, pat))


def generate(outdir, patterns):
    """Creates outdir/{set7x,big8x,append1m.tail,steady.tail} and returns a dict of facts."""
    set_dir = os.path.join(outdir, "set7x")
    big_dir = os.path.join(outdir, "big8x")
    os.makedirs(set_dir, exist_ok=True)
    os.makedirs(big_dir, exist_ok=True)
    g = Gen(SEED)
    # Oldest first: filebeat.7 is the oldest rotated file, filebeat the current one.
    names = ["filebeat.%d" % i for i in range(7, 0, -1)] + ["filebeat"]
    set_paths = []
    for name in names:
        p = os.path.join(set_dir, name)
        with open(p, "wb") as f:
            g.fill(f, 10 * MIB, ecs=False)
        # mtime = the time of the file's last line, as rotation leaves it
        os.utime(p, (g.ms // 1000, g.ms // 1000))
        set_paths.append(p)
    # ~10 s of further 7.x lines with one metrics report (from a copy of the generator, so
    # the other files stay as they were), appended to a copy of the current file by the bench.
    steady = os.path.join(outdir, "steady.tail")
    with open(steady, "wb") as f:
        f.write(steady_tail(g))
    # 1 MiB of further 7.x lines, appended to a copy of the current file by the bench.
    tail = os.path.join(outdir, "append1m.tail")
    with open(tail, "wb") as f:
        g.fill(f, MIB, ecs=False)
    g8 = Gen(SEED + 8)
    big = os.path.join(big_dir, "filebeat-20261126.ndjson")
    with open(big, "wb") as f:
        g8.fill(f, 100 * MIB, ecs=True)
    os.utime(big, (g8.ms // 1000, g8.ms // 1000))
    check_clean(set_paths + [tail, steady, big], patterns)
    return {"set": set_paths, "tail": tail, "steady": steady, "big": big}


if __name__ == "__main__":
    pats = [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip()]
    print(generate(sys.argv[1], pats))
