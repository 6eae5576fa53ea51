//! `shop-bench catalog` (issue 11): every catalog page kind on a large generated catalog, per
//! mode (embedded SQLite; PostgreSQL behind the scaled deployment), cold after a restart and
//! warm, with sanity checks on what the pages list, and SSR throughput beside a constant
//! handler measured in the same run. See `usage()` and the README's *Benchmarks* section.

mod gen;
mod html;
mod insert;
mod pages;
pub mod report;
mod tput;

use crate::deploy::{Deployment, Mode, Services};
use anyhow::{bail, Context as _, Result};
use report::{CatalogReport, ModeRun};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn usage() -> &'static str {
    "usage: shop-bench catalog [--quick] [--products N] [--modes embedded,postgres] [--requests N]\n\
     \x20                         [--max-secs S] [--secs S] [--conns C] [--shop-bin PATH] [--out FILE]\n\
     \x20                         [--pg URL] [--redis URL]\n\
     Generates N products (default 1,000,000) into a fresh shop's database, restarts the shop and\n\
     requests every catalog page kind: cold (first request after the restart) and warm (--requests\n\
     per kind, default 100; a kind stops after --max-secs, default 20, once it has 10), then SSR\n\
     throughput of the product, home, search and sale pages at C = --conns (64) for --secs (5) each\n\
     beside a constant axum handler. Modes: embedded (SQLite, one process), postgres (PostgreSQL +\n\
     Redis + Kafka, 2 web + 2 worker processes, measured on the first web process).\n\
     --quick   20,000 products, 20 requests per kind, 2 s per throughput run (the test suite's size)\n\
     --out F   also write the report into F between <!-- catalog:begin --> and <!-- catalog:end -->\n\
     Exit status 1 when a page answered other than 200 or listed the wrong products."
}

struct Args {
    products: usize,
    modes: Vec<Mode>,
    requests: usize,
    max_secs: f64,
    secs: f64,
    conns: usize,
    warmup: u64,
    shop_bin: PathBuf,
    out: Option<PathBuf>,
    services: Services,
    command: String,
}

fn parse(raw: &[String]) -> Result<Args> {
    let mut a = Args {
        products: 1_000_000,
        modes: vec![Mode::Embedded, Mode::Scaled],
        requests: 100,
        max_secs: 20.0,
        secs: 5.0,
        conns: 64,
        warmup: 3,
        shop_bin: crate::default_shop_bin(),
        out: None,
        services: crate::default_services(),
        command: format!("shop-bench catalog {}", raw.join(" ")).trim().to_string(),
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{}", usage()));
        match flag.as_str() {
            "--quick" => {
                a.products = 20_000;
                a.requests = 20;
                a.secs = 2.0;
                a.warmup = 2;
            }
            "--products" => a.products = value()?.replace(['_', ','], "").parse().context("--products")?,
            "--modes" => {
                a.modes = value()?
                    .split(',')
                    .map(|m| match m {
                        "postgres" | "scaled" => Ok(Mode::Scaled),
                        "embedded" => Ok(Mode::Embedded),
                        _ => bail!("unknown mode '{m}' (embedded, postgres)"),
                    })
                    .collect::<Result<_>>()?
            }
            "--requests" => a.requests = value()?.parse().context("--requests")?,
            "--max-secs" => a.max_secs = value()?.parse().context("--max-secs")?,
            "--secs" => a.secs = value()?.parse().context("--secs")?,
            "--conns" => a.conns = value()?.parse().context("--conns")?,
            "--shop-bin" => a.shop_bin = PathBuf::from(value()?),
            "--out" => a.out = Some(PathBuf::from(value()?)),
            "--pg" => a.services.pg_admin_url = value()?.clone(),
            "--redis" => a.services.redis_url = value()?.clone(),
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{}", usage()),
        }
    }
    if a.products < 100 {
        bail!("--products must be at least 100");
    }
    if !a.shop_bin.is_file() {
        bail!(
            "no shop binary at {} (cargo build --release -p shop; or pass --shop-bin)",
            a.shop_bin.display()
        );
    }
    Ok(a)
}

fn label(mode: Mode) -> &'static str {
    match mode {
        Mode::Embedded => "embedded: SQLite, one `shop` process",
        Mode::Scaled => {
            "postgres: PostgreSQL + Redis + Kafka, 2 `shop serve` + 2 `shop worker all`, measured on the first web process"
        }
    }
}

/// What the generation runs after its inserts (`insert::Db::analyze`).
fn after(mode: Mode) -> &'static str {
    match mode {
        Mode::Embedded => "ANALYZE",
        Mode::Scaled => "VACUUM ANALYZE",
    }
}

fn short(mode: Mode) -> &'static str {
    match mode {
        Mode::Embedded => "embedded",
        Mode::Scaled => "postgres",
    }
}

/// Runs `shop-bench catalog ARGS`: `Ok(false)` when a check failed.
pub async fn main(raw: &[String]) -> Result<bool> {
    let args = parse(raw)?;
    let root = std::env::temp_dir().join(format!("shop-bench-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let mut report = CatalogReport {
        command: args.command.clone(),
        machine: crate::machine(),
        conns: args.conns,
        secs: args.secs,
        ..Default::default()
    };
    println!("baseline: constant GET /page, C={}, {:.0} s, best of three", args.conns, args.secs);
    {
        let constant = crate::baseline::Constant::start().await?;
        let (rate, l) = tput::baseline(constant.addr, args.conns, args.secs, 3).await?;
        println!("    constant C={}: {rate:>7.0}/s p50 {:.2} p99 {:.2} ms", args.conns, l.p50, l.p99);
        report.baseline = Some((rate, l));
    }
    for (n, &mode) in args.modes.iter().enumerate() {
        let run = run_mode(&args, mode, n + 1, &root, &mut report.failures)
            .await
            .with_context(|| format!("catalog, {}", short(mode)))?;
        report.runs.push(run);
    }
    let md = report.markdown();
    println!("\n{md}");
    if let Some(out) = &args.out {
        let doc = std::fs::read_to_string(out).unwrap_or_default();
        std::fs::write(out, report::splice(&doc, &md))?;
        println!("wrote the catalog section of {}", out.display());
    }
    crate::deploy::remove_unless_kept(&root);
    for f in &report.failures {
        eprintln!("FAILED: {f}");
    }
    Ok(report.failures.is_empty())
}

async fn run_mode(
    args: &Args,
    mode: Mode,
    run: usize,
    root: &Path,
    failures: &mut Vec<String>,
) -> Result<ModeRun> {
    println!("\n{}: starting the shop", short(mode));
    let mut shop = Deployment::start(mode, &args.shop_bin, root, run, &args.services, &[]).await?;
    let result = measure(args, &mut shop, failures).await;
    let stopped = shop.stop().await;
    let out = result?;
    stopped?;
    Ok(out)
}

async fn measure(args: &Args, shop: &mut Deployment, failures: &mut Vec<String>) -> Result<ModeRun> {
    let mode = shop.mode;
    println!("{}: generating {} products", short(mode), report::thousands(args.products as u64));
    let started = Instant::now();
    let loaded = insert::generate(&shop.database_url, args.products).await?;
    let generation = started.elapsed();
    println!(
        "{}: generated {} products in {:.1} s (inserts {:.1} s, {} {:.1} s), database {:.0} MiB",
        short(mode),
        report::thousands(args.products as u64),
        generation.as_secs_f64(),
        loaded.insert.as_secs_f64(),
        after(mode),
        loaded.analyze.as_secs_f64(),
        loaded.db_mib
    );
    // The page table measures the queries: the catalog cache is off for it. Throughput runs
    // with the shop's defaults (cache on), as shoppers meet it.
    let t = Instant::now();
    shop.restart_with(&[("SHOP_CATALOG_CACHE_MS", "0")]).await.context("restarting the shop")?;
    let restart = t.elapsed();
    println!("{}: restarted in {:.1} s", short(mode), restart.as_secs_f64());

    let generator = loaded.generator;
    let ids = Arc::new(loaded.ids);
    let rare_ids = {
        let mut v: Vec<i64> = generator.rare_indices().map(|i| ids[i]).collect();
        v.sort_unstable();
        v
    };
    let facts =
        pages::Facts { generator, ids: ids.clone(), tally: loaded.tally, rare_ids, sale_id: loaded.sale_id };
    let kinds = pages::kinds(&facts);
    let addr = shop.web[0];
    let mut measured = pages::blank(&kinds);
    pages::cold(addr, &kinds, &mut measured).await;
    pages::warm_up(addr, &kinds, args.warmup).await;
    let budget = Duration::from_secs_f64(args.max_secs);
    pages::warm(addr, &kinds, args.requests, budget, &mut measured).await;
    for m in &measured {
        println!(
            "    {:<18} cold {:>7.1} ms | warm n={:<4} p50 {:>6.1} p95 {:>6.1} p99 {:>6.1} max {:>6.1} ms | {} errors{}",
            m.name,
            m.cold_ms.unwrap_or(0.0),
            m.requests,
            m.latency.p50,
            m.latency.p95,
            m.latency.p99,
            m.latency.max,
            m.errors,
            if m.latency.p95 >= report::SLOW_MS { "  ⚠ p95 ≥ 20 ms" } else { "" }
        );
        for p in &m.problems {
            println!("        {p}");
            failures.push(format!("{} {}: {p}", short(mode), m.name));
        }
        if m.errors > m.problems.len() {
            failures.push(format!("{} {}: {} answers failed", short(mode), m.name, m.errors));
        }
    }
    shop.restart().await.context("restarting the shop with its catalog cache")?;
    println!("{}: throughput, C={}, {:.0} s each", short(mode), args.conns, args.secs);
    let rates = tput::shop(addr, args.conns, args.secs, ids, facts.sale_id).await?;
    for r in rates.iter().filter(|r| r.errors > 0 || r.requests == 0) {
        failures.push(format!(
            "{} throughput {}: {} of {} requests failed {:?}",
            short(mode),
            r.name,
            r.errors,
            r.requests,
            r.odd
        ));
    }
    Ok(ModeRun {
        label: label(mode).into(),
        products: args.products,
        generation,
        insert: loaded.insert,
        analyze: loaded.analyze,
        after: after(mode),
        db_mib: loaded.db_mib,
        restart,
        pages: measured,
        rates,
    })
}
