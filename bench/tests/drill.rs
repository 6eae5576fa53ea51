//! The drill at a small size, so the tool keeps working: both modes, every scenario, and the
//! invariants checked on each run (the tool exits non-zero when one breaks).

use std::path::PathBuf;
use std::process::Command;

/// The `shop` binary of the same build (`cargo test --workspace` builds it beside this test).
fn shop_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SHOP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/drill-… → target/<profile>/shop
    exe.parent().and_then(|deps| deps.parent()).map(|p| p.join("shop")).expect("target directory")
}

#[test]
fn a_small_drill_runs_in_both_modes_and_every_invariant_holds() {
    let shop = shop_bin();
    assert!(shop.is_file(), "no shop binary at {} (cargo build --release -p shop)", shop.display());
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("BENCH.md");
    let out = Command::new(env!("CARGO_BIN_EXE_shop-bench"))
        .args(["--quick", "--modes", "embedded,scaled", "--out"])
        .arg(&report)
        .arg("--shop-bin")
        .arg(&shop)
        .output()
        .expect("running shop-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "shop-bench failed ({}):\n{stdout}\n{stderr}", out.status);
    for mode in ["embedded", "scaled"] {
        for scenario in ["scarce", "plenty", "overload"] {
            let line = stdout
                .lines()
                .find(|l| l.starts_with(mode) && l.contains(scenario))
                .unwrap_or_else(|| panic!("no {mode} {scenario} line in:\n{stdout}"));
            assert!(line.contains("invariants held"), "{line}");
        }
    }
    // Scarce: exactly the 20 units sold, to 20 different buyers, and every order delivered.
    let scarce = stdout.lines().find(|l| l.starts_with("embedded") && l.contains("scarce")).unwrap();
    assert!(scarce.contains("accepted 20 "), "{scarce}");
    // Plenty: every one of the 200 buyers got one; their 20 second tabs were refused.
    let plenty = stdout.lines().find(|l| l.starts_with("scaled") && l.contains("plenty")).unwrap();
    assert!(plenty.contains("accepted 200 ") && plenty.contains("over-limit 20 "), "{plenty}");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("## scarce: embedded") && md.contains("## plenty: scaled"), "{md}");
    let svg = std::fs::read_to_string(out_dir.path().join("bench-latency.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("constant handler"), "chart");
}
