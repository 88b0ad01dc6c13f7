//! The elastic-agent preset (`--preset elastic-agent`): Agent's own ndjson
//! files (never its event log), its pod logs under either DaemonSet's
//! container name, its forceReload retry line and its Filebeat components'
//! messages as Agent logs them again, and `preset show elastic-agent`.

use std::fs;

use logprobe::preset::{ELASTIC_AGENT, ELASTIC_AGENT_LOG_DIR};

use crate::util::{Env, POD_UID, STUCK, log_time};

/// A line of Agent's own log (ndjson) at `secs` (see [`log_time`]), logged
/// again from its Filebeat component `filestream-default`.
fn agent_line(secs: i64, level: &str, message: &str) -> String {
    format!(
        "{{\"log.level\":\"{level}\",\"@timestamp\":\"{}\",\"message\":\"{message}\",\"component\":{{\"binary\":\"filebeat\",\"dataset\":\"elastic_agent.filebeat\",\"id\":\"filestream-default\",\"type\":\"filestream\"}},\"log\":{{\"source\":\"filestream-default\"}},\"log.logger\":\"centralmgmt.V2-manager\",\"log.origin\":{{\"file.line\":1000,\"file.name\":\"management/managerV2.go\",\"function\":\"github.com/elastic/beats/v7/x-pack/libbeat/management.(*BeatV2Manager).reloadInputs\"}},\"service.name\":\"filebeat\",\"ecs.version\":\"1.6.0\"}}\n",
        log_time(secs)
    )
}

const FORCE_RELOAD: &str = "Reloading Beats inputs because forceReload is true. Set log level to debug to get more information about which inputs are causing this.";

/// The preset's globs moved into `logs/`, as `-l` arguments.
fn agent_logs(e: &Env) -> Vec<String> {
    ELASTIC_AGENT
        .paths
        .iter()
        .flat_map(|p| {
            let name = p
                .strip_prefix(ELASTIC_AGENT_LOG_DIR)
                .and_then(|n| n.strip_prefix('/'))
                .unwrap();
            ["-l".to_string(), e.logs.file(name).display().to_string()]
        })
        .collect()
}

fn agent_check(e: &Env, extra: &[&str]) -> crate::util::Run {
    let logs = agent_logs(e);
    let mut args = vec!["--preset", "elastic-agent"];
    args.extend(logs.iter().map(String::as_str));
    args.extend_from_slice(extra);
    e.run(&args)
}

const LOG: &str = "elastic-agent-20261126.ndjson";

#[test]
fn the_force_reload_loop_trips_when_it_goes_on_and_not_as_churn() {
    let e = Env::new();
    // Two minutes of it, then quiet for six: churn.
    for t in (0..=120).step_by(10) {
        e.logs.append(LOG, agent_line(t, "info", FORCE_RELOAD));
    }
    e.logs.append(
        LOG,
        agent_line(480, "info", "Non-zero metrics in the last 30s"),
    );
    agent_check(&e, &[]).expect(0);
    // Then a loop that goes on for ten minutes.
    for t in (600..=1200).step_by(10) {
        e.logs.append(LOG, agent_line(t, "info", FORCE_RELOAD));
    }
    agent_check(&e, &[]).expect(1).stdout_has(
        "\"Reloading Beats inputs because forceReload is true\" kept coming for 10m0s (61 lines",
    );
}

#[test]
fn its_filebeat_components_messages_trip_as_filebeats_do() {
    let e = Env::new();
    let one_shot =
        "add_kubernetes_metadata: could not detect kubernetes env: unable to build kube config";
    e.logs.append(LOG, agent_line(0, "error", one_shot));
    agent_check(&e, &[])
        .expect(1)
        .stdout_has("\"add_kubernetes_metadata: could not detect kubernetes env\"");
    let e = Env::new();
    for t in (0..=600).step_by(10) {
        e.logs.append(
            LOG,
            agent_line(t, "error", &format!("Error creating runner from config: failed to create input: {STUCK}: {{Id: native::42, Finished: false}}")),
        );
    }
    agent_check(&e, &[])
        .expect(1)
        .stdout_has("kept coming for 10m0s");
}

#[test]
fn its_event_log_is_never_read() {
    let e = Env::new();
    e.logs.append(LOG, agent_line(0, "info", "started"));
    let events = "elastic-agent-event-log-20261126.ndjson";
    e.logs
        .append(events, agent_line(1, "error", FORCE_RELOAD).repeat(100));
    // Even a glob that names it.
    let all = e.logs.file("elastic-agent-*").display().to_string();
    let r = e.run(&["--preset", "elastic-agent", "-l", &all, "--format", "json"]);
    r.expect(0);
    assert_eq!(r.json()["files"], 1, "{r}");
}

#[test]
fn its_pod_logs_under_either_daemonsets_container_name() {
    for container in ["elastic-agent-standalone", "elastic-agent"] {
        let e = Env::new();
        let dir = e.root().join(format!(
            "var/log/pods/kube-system_elastic-agent-x7k2p_{POD_UID}/{container}"
        ));
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(e.root().join("proc/self")).unwrap();
        fs::write(
            e.root().join("proc/self/mountinfo"),
            format!("812 790 254:1 /var/lib/kubelet/pods/{POD_UID}/etc-hosts /etc/hosts rw - ext4 /dev/vda1 rw\n"),
        )
        .unwrap();
        let line = agent_line(
            0,
            "error",
            "add_kubernetes_metadata: could not detect kubernetes env: x",
        );
        let record = format!(
            "{} stderr F {line}",
            log_time(0).replace(".000Z", ".000000001Z")
        );
        fs::write(dir.join("0.log"), record).unwrap();
        // No Agent log file here (its own path is absent): its pod logs, found by themselves.
        let nowhere = e.logs.file("elastic-agent-[0-9]*").display().to_string();
        let r = e.run(&[
            "--preset",
            "elastic-agent",
            "-l",
            &nowhere,
            "--format",
            "json",
        ]);
        assert_eq!(r.code(), 0, "with -l, no fallback\n{r}");
        let r = e.run(&[
            "--preset",
            "elastic-agent",
            "--pod-logs",
            "--format",
            "json",
        ]);
        let v = r.json();
        assert_eq!(r.code(), 1, "{container}: {v}");
        assert!(
            v["match"]["file"].as_str().unwrap().contains(container),
            "{v}"
        );
    }
}

#[test]
fn preset_show_prints_it_as_a_patterns_file() {
    let e = Env::new();
    let r = e.run(&["preset", "show", "elastic-agent"]);
    r.expect(0)
        .stdout_has("# The elastic-agent preset")
        .stdout_has("[persist=10m0s gap=2m0s] Reloading Beats inputs because forceReload is true")
        .stdout_has("the container named elastic-agent-standalone or elastic-agent")
        .stdout_has("PR #35250")
        .stdout_has(ELASTIC_AGENT_LOG_DIR);
    // What it prints reads back as the same rules.
    let file = e.root().join("agent.rules");
    fs::write(&file, &r.stdout).unwrap();
    e.logs.append(
        LOG,
        agent_line(0, "error", "Couldn't discover Kubernetes node: x"),
    );
    let logs = agent_logs(&e);
    let mut args = vec!["--preset", "none", "-f", file.to_str().unwrap()];
    args.extend(logs.iter().map(String::as_str));
    e.run(&args)
        .expect(1)
        .stdout_has("Couldn't discover Kubernetes node");
}
