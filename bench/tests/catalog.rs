//! The catalog benchmark at a small size (20,000 products), so the tool keeps working: both
//! modes, every page kind, and its checks (the rare word's products are listed, "creme" finds
//! "Crème", no match lists nothing, result pages are full; the tool exits non-zero otherwise).

use std::path::PathBuf;
use std::process::Command;

/// The `shop` binary of the same build (`cargo test --workspace` builds it beside this test).
fn shop_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SHOP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/catalog-… → target/<profile>/shop
    exe.parent().and_then(|deps| deps.parent()).map(|p| p.join("shop")).expect("target directory")
}

#[test]
fn a_small_catalog_benchmark_runs_in_both_modes_and_every_page_checks_out() {
    let shop = shop_bin();
    assert!(shop.is_file(), "no shop binary at {} (cargo build --release -p shop)", shop.display());
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("BENCH.md");
    // An existing document keeps what is outside the catalog section.
    std::fs::write(&report, "# Drill\n\nkept\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shop-bench"))
        .args(["catalog", "--quick", "--modes", "embedded,postgres", "--out"])
        .arg(&report)
        .arg("--shop-bin")
        .arg(&shop)
        .output()
        .expect("running shop-bench catalog");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "shop-bench catalog failed ({}):\n{stdout}\n{stderr}", out.status);
    for mode in ["embedded", "postgres"] {
        assert!(stdout.contains(&format!("{mode}: generated 20,000 products")), "{mode}:\n{stdout}");
    }
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.starts_with("# Drill\n\nkept\n"), "{md}");
    assert!(md.contains("<!-- catalog:begin -->") && md.trim_end().ends_with("<!-- catalog:end -->"), "{md}");
    // Once per mode; the product and sale pages are in the throughput table too.
    for (row, n) in
        [("| search rare |", 2), ("| search accent |", 2), ("| deep tag |", 2), ("| product |", 4)]
    {
        assert_eq!(md.matches(row).count(), n, "{row}:\n{md}");
    }
    assert_eq!(md.matches("| constant handler |").count(), 2, "{md}");
    assert!(md.contains("### embedded") && md.contains("### postgres"), "{md}");
}
