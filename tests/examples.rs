//! The README's examples on the sample logs shipped in `examples/logs/`.

use std::path::Path;

use crate::util::Env;

fn example(dir: &str) -> String {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/logs")
        .join(dir);
    format!("{}/*", d.display())
}

#[test]
fn the_readme_examples_give_their_verdicts() {
    let e = Env::new();
    e.run(&["-l", &example("healthy")])
        .expect(0)
        .stdout_has("HEALTHY: no match in 3275 new bytes of 1 log file");
    let e = Env::new();
    let stuck = example("stuck");
    e.run(&["-l", &stuck]).expect(1).stdout_has(
        "UNHEALTHY: \"Can only start an input when all related states are finished\" kept coming for 10m0s (61 lines from 2026-11-26T10:03:11Z to 2026-11-26T10:13:11Z, persist 10m0s); last in ",
    );
    e.run(&["-l", &stuck]).expect(1); // sticky
    let e = Env::new();
    e.run(&["-l", &example("stalled")]).expect(1).stdout_has(
        "UNHEALTHY: silent stall: 4117 events waiting, none acked, no output errors, 21 metrics reports from 2026-11-26T10:02:00Z to 2026-11-26T10:12:00Z (--max-stall 10m0s)",
    );
}
