//! A run stops scanning after `--budget`, keeps its progress, and the next
//! run goes on from there.

use crate::util::{Env, benign_7x, skip_if_emulated, stuck_7x};

#[test]
fn a_budget_spreads_a_large_backlog_over_runs() {
    if skip_if_emulated(
        "a_budget_spreads_a_large_backlog_over_runs",
        "how much of 24 MiB 20 runs of a 1 ms budget scan is the hardware's speed",
    ) {
        return;
    }
    let e = Env::new();
    let mut data = String::new();
    while data.len() < 24 << 20 {
        data.push_str(&benign_7x(data.len()));
    }
    e.logs.append("filebeat", &data);
    e.logs.append("filebeat", stuck_7x());
    let mut runs = 0;
    loop {
        runs += 1;
        let r = e.check(&["--budget", "1ms", "--format", "json"]);
        let j = r.json();
        if j["status"] == "unhealthy" {
            assert_eq!(j["match"]["offset"].as_u64(), Some(data.len() as u64));
            break;
        }
        assert_eq!(j["status"], "healthy", "{r}");
        assert!(
            j["message"]
                .as_str()
                .unwrap()
                .contains("budget 1ms reached"),
            "{r}"
        );
        assert!(runs < 20, "never finished\n{r}");
    }
    assert!(runs > 1, "the budget did not stop the first run");
}
