//! The kubelet's copy of a container's stdout and stderr, as a log source.
//!
//! With `-e` (the official DaemonSet and the Helm chart) Filebeat writes no log
//! file; the kubelet keeps its stderr on the node in
//! `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`, in CRI
//! format (see [`crate::scan::cri`]), rotating `N.log` to `N.log.<timestamp>` and
//! gzipping older ones (skipped). Each container restart starts a new `N.log`.
//!
//! This pod's directory is found without configuration: the pod's UID appears
//! in `/proc/self/mountinfo` (the kubelet mounts `/etc/hosts` and the
//! termination log from `/var/lib/kubelet/pods/<uid>/…`), which works with
//! `hostNetwork: true` too; failing that, the hostname is the pod's name and the
//! service account mount names the namespace.

use std::fs;
use std::path::{Path, PathBuf};

/// Where the kubelet keeps pod logs on the node.
pub const POD_LOG_ROOT: &str = "var/log/pods";
const MOUNTINFO: &str = "proc/self/mountinfo";
const HOSTNAME: &str = "proc/sys/kernel/hostname";
const NAMESPACE: &str = "var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The globs of a pod-log directory: current and rotated, uncompressed.
pub fn globs(dir: &Path) -> Vec<String> {
    let d = dir.display();
    vec![format!("{d}/*.log"), format!("{d}/*.log.*")]
}

/// Finds this pod's log directory for the first of `containers` it has,
/// under the file-system root `root` (`/`, or a stand-in for tests).
///
/// # Errors
/// One line saying what was tried.
pub fn find_dir(root: &Path, containers: &[String]) -> Result<PathBuf, String> {
    let mut first = None;
    for c in containers {
        match find_one(root, c) {
            Ok(dir) => return Ok(dir),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_else(|| "--container: no container name".to_string()))
}

fn find_one(root: &Path, container: &str) -> Result<PathBuf, String> {
    let pods = root.join(POD_LOG_ROOT);
    let uid = fs::read_to_string(root.join(MOUNTINFO))
        .ok()
        .as_deref()
        .and_then(pod_uid);
    if let Some(uid) = uid
        && let Some(dir) = newest_match(&pods, |name| name.ends_with(&format!("_{uid}")), container)
    {
        return Ok(dir);
    }
    let host = fs::read_to_string(root.join(HOSTNAME)).unwrap_or_default();
    let ns = fs::read_to_string(root.join(NAMESPACE)).unwrap_or_default();
    let (host, ns) = (host.trim(), ns.trim());
    if !host.is_empty() && !ns.is_empty() {
        let prefix = format!("{ns}_{host}_");
        if let Some(dir) = newest_match(&pods, |name| name.starts_with(&prefix), container) {
            return Ok(dir);
        }
    }
    Err(format!(
        "--pod-logs: cannot find this pod's log directory {}/<namespace>_<pod>_<uid>/{container}/ (no pod UID in /proc/self/mountinfo matched, nor namespace {:?} and hostname {:?}); mount the node's /var/log, check --container, or give --pod-logs=DIR",
        Path::new("/").join(POD_LOG_ROOT).display(),
        ns,
        host
    ))
}

/// The pod UID in the kubelet's mount sources: `…/pods/<uid>/…`.
fn pod_uid(mountinfo: &str) -> Option<String> {
    for line in mountinfo.lines() {
        // Fields: id parent major:minor root mount-point …; the root holds the source path.
        let Some(root) = line.split(' ').nth(3) else {
            continue;
        };
        let mut rest = root;
        while let Some(i) = rest.find("/pods/") {
            let after = &rest[i + 6..];
            let uid = after.split('/').next().unwrap_or_default();
            if is_uid(uid) {
                return Some(uid.to_string());
            }
            rest = after;
        }
    }
    None
}

/// A Kubernetes UID: 8-4-4-4-12 hexadecimal digits.
fn is_uid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The most recently modified `<pods>/<name>/<container>` whose name matches.
fn newest_match(pods: &Path, matches: impl Fn(&str) -> bool, container: &str) -> Option<PathBuf> {
    let entries = fs::read_dir(pods).ok()?;
    entries
        .flatten()
        .filter(|e| matches(&e.file_name().to_string_lossy()))
        .map(|e| e.path().join(container))
        .filter_map(|p| {
            Some((
                fs::metadata(&p)
                    .ok()
                    .filter(|m| m.is_dir())?
                    .modified()
                    .ok()?,
                p,
            ))
        })
        .max()
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

    #[test]
    fn uid_from_mountinfo() {
        let mi = format!(
            "1 0 0:1 / / rw - overlay overlay rw\n\
             2 1 254:1 /var/lib/kubelet/pods/{UID}/etc-hosts /etc/hosts rw - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(pod_uid(&mi).as_deref(), Some(UID));
        assert_eq!(pod_uid("1 0 0:1 / / rw - overlay overlay rw\n"), None);
        assert!(!is_uid("not-a-uid"));
    }

    #[test]
    fn finds_the_directory_by_uid_then_by_name() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let dir = r
            .join(POD_LOG_ROOT)
            .join(format!("kube-system_filebeat-x7k2p_{UID}/filebeat"));
        fs::create_dir_all(&dir).unwrap();
        assert!(
            find_dir(r, &["filebeat".to_string()])
                .unwrap_err()
                .contains("cannot find")
        );
        fs::create_dir_all(r.join("proc/sys/kernel")).unwrap();
        fs::write(r.join(HOSTNAME), "filebeat-x7k2p\n").unwrap();
        fs::create_dir_all(r.join(NAMESPACE).parent().unwrap()).unwrap();
        fs::write(r.join(NAMESPACE), "kube-system").unwrap();
        assert_eq!(find_dir(r, &["filebeat".to_string()]).unwrap(), dir);
        assert!(find_dir(r, &["other".to_string()]).is_err());
        fs::write(r.join(HOSTNAME), "node-1\n").unwrap(); // hostNetwork: the node's name
        assert!(find_dir(r, &["filebeat".to_string()]).is_err());
        fs::create_dir_all(r.join("proc/self")).unwrap();
        fs::write(
            r.join(MOUNTINFO),
            format!("2 1 254:1 /var/lib/kubelet/pods/{UID}/etc-hosts /etc/hosts rw\n"),
        )
        .unwrap();
        assert_eq!(find_dir(r, &["filebeat".to_string()]).unwrap(), dir);
    }
}
