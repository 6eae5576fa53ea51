//! `SHOP_BENCH_PERF=DIR`: records a CPU profile of the shop processes (`perf record -g`) for
//! the rush of every drill, into `DIR/<mode>-<scenario>-<C>.data` (read it with
//! `perf report -i FILE --no-children`). Only the rush: preparing the buyers is not in it.

use crate::deploy::Deployment;
use std::process::{Child, Command, Stdio};

pub fn start(shop: &Deployment, name: &str) -> Option<Child> {
    let dir = std::env::var_os("SHOP_BENCH_PERF")?;
    let _ = std::fs::create_dir_all(&dir);
    let pids: Vec<String> = shop.pids().iter().map(u32::to_string).collect();
    let out = std::path::Path::new(&dir).join(format!("{name}.data"));
    let child = Command::new("perf")
        .args(["record", "-F", "999", "-g", "-o"])
        .arg(&out)
        .args(["-p", &pids.join(",")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(c) => {
            // perf needs a moment to attach before the rush starts.
            std::thread::sleep(std::time::Duration::from_millis(300));
            Some(c)
        }
        Err(e) => {
            eprintln!("SHOP_BENCH_PERF: cannot run perf: {e}");
            None
        }
    }
}

pub fn stop(child: Option<Child>) {
    if let Some(mut c) = child {
        let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
        let _ = c.wait();
    }
}
