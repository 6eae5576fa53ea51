//! The live-stock benchmark at a small size (200 open pages, 40 units), so the tool keeps
//! working: every page must end on the final count, counts only fall, every purchase is an
//! order (the tool exits non-zero otherwise), and the report lands in its own section.

use std::path::PathBuf;
use std::process::Command;

/// The `shop` binary of the same build (`cargo test --workspace` builds it beside this test).
fn shop_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SHOP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable");
    exe.parent().and_then(|deps| deps.parent()).map(|p| p.join("shop")).expect("target directory")
}

#[test]
fn a_small_live_benchmark_runs_and_every_page_hears_the_sale_sell_out() {
    let shop = shop_bin();
    assert!(shop.is_file(), "no shop binary at {} (cargo build --release -p shop)", shop.display());
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("BENCH.md");
    std::fs::write(&report, "# Drill\n\nkept\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shop-bench"))
        .args(["live", "--quick", "--out"])
        .arg(&report)
        .arg("--shop-bin")
        .arg(&shop)
        .output()
        .expect("running shop-bench live");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "shop-bench live failed ({}):\n{stdout}\n{stderr}", out.status);
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.starts_with("# Drill\n\nkept\n"), "{md}");
    assert!(md.contains("<!-- live:begin -->") && md.contains("KiB per open page"), "{md}");
    assert!(md.contains(": held."), "{md}");
}
