//! `shop-bench live`: the live stock stream's fan-out (issue 12). An embedded shop, P open sale
//! pages (each one `GET /api/live/stock?sales=…` stream, as the browser bundle opens it), and
//! buyers taking a sale's units one after another. Measured: the shop's memory per open page,
//! its CPU with the pages open (idle and while buyers buy, beside the same purchases with no
//! page open: the baseline of the same run), and how late each page hears a count, from the
//! purchase request that produced it to the event's arrival. Checked: every page ends on the
//! final count, counts only fall, no order lost, nobody over the limit.

use crate::deploy::{Deployment, Mode};
use crate::load::{self, Latency, Outcome, Sample};
use anyhow::{bail, Context as _, Result};
use shop_domain::Timestamp;
use shop_store::Store;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn usage() -> &'static str {
    "usage: shop-bench live [--pages 5000] [--units 200] [--shop-bin PATH] [--out docs/BENCHMARKS.md] [--quick]\n\
     Opens P live-stock streams on an embedded shop, sells a sale's units one after another and\n\
     measures memory per stream, CPU, and each count's delay to every page.\n\
     --quick   200 pages, 40 units (the test suite's size)\n\
     --out F   also write the report into F between <!-- live:begin --> and <!-- live:end -->"
}

struct Args {
    pages: usize,
    units: usize,
    shop_bin: PathBuf,
    out: Option<PathBuf>,
    command: String,
}

fn parse(raw: &[String]) -> Result<Args> {
    let mut a = Args {
        pages: 5_000,
        units: 200,
        shop_bin: crate::default_shop_bin(),
        out: None,
        command: format!("shop-bench live {}", raw.join(" ")).trim().to_string(),
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{}", usage()));
        match flag.as_str() {
            "--pages" => a.pages = value()?.parse().context("--pages")?,
            "--units" => a.units = value()?.parse().context("--units")?,
            "--quick" => {
                a.pages = 200;
                a.units = 40;
            }
            "--shop-bin" => a.shop_bin = PathBuf::from(value()?),
            "--out" => a.out = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{}", usage()),
        }
    }
    if a.pages == 0 || a.units == 0 {
        bail!("--pages and --units must be at least 1");
    }
    if !a.shop_bin.is_file() {
        bail!(
            "no shop binary at {} (cargo build --release -p shop; or pass --shop-bin)",
            a.shop_bin.display()
        );
    }
    Ok(a)
}

/// The shop process's resident memory (KiB) and CPU time (clock ticks, 100 a second).
fn proc_usage(pid: u32) -> (f64, u64) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .unwrap_or(0.0);
    // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): utime, stime.
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    (rss, ticks)
}

/// One open page: every count it heard, with when.
struct Page {
    heard: Vec<(i64, Instant)>,
}

/// Opens a stream for `sale` and reads it until `done` (or the connection ends).
async fn open_page(
    addr: SocketAddr,
    sale: i64,
    ready: Arc<AtomicUsize>,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> Result<Page> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "GET /api/live/stock?sales={sale} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut page = Page { heard: Vec::new() };
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tokio::select! {
            n = stream.read(&mut chunk) => n?,
            _ = done.changed() => return Ok(page),
        };
        if n == 0 {
            return Ok(page);
        }
        let at = Instant::now();
        buf.extend_from_slice(&chunk[..n]);
        // Whole lines only; chunked framing lines never start with "data:".
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some(data) = line.trim().strip_prefix("data:") {
                if let Some(left) = data.trim().split_once(':').and_then(|(_, l)| l.parse::<i64>().ok()) {
                    if page.heard.is_empty() {
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                    page.heard.push((left, at));
                }
            }
        }
    }
}

/// Buys `units` units of `sale` one after another; the send time and answer of each.
async fn buy_all(
    addr: SocketAddr,
    buyers: &[crate::prepare::Buyer],
    sale: i64,
    units: usize,
) -> Result<(Vec<Instant>, Vec<Sample>, Duration)> {
    let mut conn = load::connect(addr).await?;
    let (mut sent, mut samples) = (Vec::with_capacity(units), Vec::with_capacity(units));
    let started = Instant::now();
    for i in 0..units {
        let req = crate::drill::buy_request(buyers, sale, i, addr);
        let t0 = Instant::now();
        sent.push(t0);
        let (status, body) = load::send(&mut conn, req).await?;
        samples.push(Sample {
            micros: t0.elapsed().as_micros() as u64,
            outcome: crate::drill::classify(status, &body),
        });
    }
    Ok((sent, samples, started.elapsed()))
}

/// Runs `shop-bench live ARGS`: `Ok(false)` when a check failed.
pub async fn main(raw: &[String]) -> Result<bool> {
    let args = parse(raw)?;
    let root = std::env::temp_dir().join(format!("shop-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    println!("live: starting an embedded shop");
    let shop =
        Deployment::start(Mode::Embedded, &args.shop_bin, &root, 1, &crate::default_services(), &[]).await?;
    let result = measure(&args, &shop).await;
    let stopped = shop.stop().await;
    crate::deploy::remove_unless_kept(&root);
    let (md, failures) = result?;
    stopped?;
    println!("\n{md}");
    if let Some(out) = &args.out {
        let doc = std::fs::read_to_string(out).unwrap_or_default();
        std::fs::write(out, crate::sections::splice(&doc, crate::sections::LIVE, &md))?;
        println!("wrote the live section of {}", out.display());
    }
    for f in &failures {
        eprintln!("FAILED: {f}");
    }
    Ok(failures.is_empty())
}

async fn measure(args: &Args, shop: &Deployment) -> Result<(String, Vec<String>)> {
    let addr = shop.web[0];
    let pid = shop.pids()[0];
    let store = Store::connect(&shop.database_url, 8).await?;
    let units = args.units;
    let buyers = crate::prepare::buyers(&store, 2 * units, 8).await?;
    let (first, second) = buyers.split_at(units);
    let opened = Timestamp::now().plus_secs(-1);
    let baseline_sale = crate::prepare::sale(&store, units as i64, 1, opened).await?;
    let sale = crate::prepare::sale(&store, units as i64, 1, opened).await?;
    let mut failures = Vec::new();

    // Baseline: the same purchases with no page open.
    let (idle_rss, _) = proc_usage(pid);
    let (_, before) = proc_usage(pid);
    let (_, base_samples, base_time) = buy_all(addr, first, baseline_sale, units).await?;
    let (_, after) = proc_usage(pid);
    let base_cpu = (after - before) as f64 / 100.0;
    let base_lat = Latency::of(&base_samples);
    println!("live: baseline, no page open: {units} purchases in {:.2} s, p50 {:.2} ms p99 {:.2} ms, CPU {base_cpu:.2} s", base_time.as_secs_f64(), base_lat.p50, base_lat.p99);

    // P pages open the stream and hear the first count.
    let ready = Arc::new(AtomicUsize::new(0));
    let (stop, done) = tokio::sync::watch::channel(false);
    let opening = Instant::now();
    let mut pages = Vec::with_capacity(args.pages);
    for _ in 0..args.pages {
        pages.push(tokio::spawn(open_page(addr, sale, ready.clone(), done.clone())));
    }
    while ready.load(Ordering::Relaxed) < args.pages {
        if opening.elapsed() > Duration::from_secs(120) {
            bail!(
                "only {} of {} pages heard the first count within 120 s",
                ready.load(Ordering::Relaxed),
                args.pages
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_time = opening.elapsed();
    let (open_rss, idle_before) = proc_usage(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, idle_after) = proc_usage(pid);
    let idle_cpu = (idle_after - idle_before) as f64 / 100.0 / 3.0;
    let per_page_kib = (open_rss - idle_rss) / args.pages as f64;
    println!(
        "live: {} pages open in {:.1} s; RSS {:.0} → {:.0} MiB ({per_page_kib:.1} KiB a page); idle CPU {:.1} %",
        args.pages,
        open_time.as_secs_f64(),
        idle_rss / 1024.0,
        open_rss / 1024.0,
        idle_cpu * 100.0
    );

    // The same purchases with every page open.
    let (_, before) = proc_usage(pid);
    let (sent, samples, buy_time) = buy_all(addr, second, sale, units).await?;
    let (_, after) = proc_usage(pid);
    let cpu = (after - before) as f64 / 100.0;
    let lat = Latency::of(&samples);
    println!(
        "live: {units} purchases with pages open in {:.2} s, p50 {:.2} ms p99 {:.2} ms, CPU {cpu:.2} s",
        buy_time.as_secs_f64(),
        lat.p50,
        lat.p99
    );
    // Every page hears the final count within a few polls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(true);
    let mut heard = Vec::with_capacity(args.pages);
    for p in pages {
        heard.push(p.await??);
    }

    // Delays: the count c came from purchase units - c - 1 (one unit each, in order).
    let accepted = samples.iter().filter(|s| s.outcome == Outcome::Accepted).count();
    if accepted != units || base_samples.iter().filter(|s| s.outcome == Outcome::Accepted).count() != units {
        failures.push(format!("{accepted} of {units} purchases accepted (every unit should sell)"));
    }
    let mut delays = Vec::new();
    let (mut updates, mut ended_right, mut rising) = (0usize, 0usize, 0usize);
    for page in &heard {
        updates += page.heard.len().saturating_sub(1);
        if page.heard.last().map(|h| h.0) == Some(0) {
            ended_right += 1;
        }
        if page.heard.windows(2).any(|w| w[1].0 > w[0].0) {
            rising += 1;
        }
        for &(left, at) in page.heard.iter().skip(1) {
            let k = units as i64 - left - 1;
            if let Some(t) = usize::try_from(k).ok().and_then(|k| sent.get(k)) {
                delays.push(Sample {
                    micros: at.saturating_duration_since(*t).as_micros() as u64,
                    outcome: Outcome::Accepted,
                });
            }
        }
    }
    let delay = Latency::of(&delays);
    // From the last purchase to the last page hearing 0 left.
    let last = sent.last().copied().unwrap_or_else(Instant::now);
    let settle = heard
        .iter()
        .filter_map(|p| p.heard.iter().find(|h| h.0 == 0).map(|h| h.1.saturating_duration_since(last)))
        .max()
        .unwrap_or_default();
    if ended_right != heard.len() {
        failures.push(format!(
            "{} of {} pages did not end on 0 units left",
            heard.len() - ended_right,
            heard.len()
        ));
    }
    if rising > 0 {
        failures.push(format!("{rising} pages heard a count rise (no purchase was cancelled)"));
    }
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sale_id = $1")
        .bind(sale)
        .fetch_one(store.pool())
        .await?;
    if orders != units as i64 {
        failures.push(format!("{orders} orders in the database for {units} accepted purchases"));
    }
    let most: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(n), 0) AS BIGINT) FROM (SELECT COUNT(*) AS n FROM orders WHERE sale_id = $1 GROUP BY user_id) t",
    )
    .bind(sale)
    .fetch_one(store.pool())
    .await?;
    if most > 1 {
        failures.push(format!("a buyer holds {most} orders of a sale limited to 1"));
    }

    let per_page_updates = updates as f64 / heard.len().max(1) as f64;
    let mut md = String::new();
    let _ = writeln!(md, "{}", crate::sections::LIVE.begin);
    let _ = writeln!(md, "## Live stock: pages that watch a sale (server-sent events)\n");
    let _ = writeln!(md, "Written by `{}` (issue 12). {}.\n", args.command, crate::machine());
    let _ = writeln!(
        md,
        "One embedded `shop` process. {pages} pages each hold `GET /api/live/stock?sales=<id>` open (what the client bundle opens on a sale page); then {units} buyers buy one unit each, one after another, until the sale is sold out. The baseline is the same {units} purchases of another sale with no page open, in the same run. The shop reads a watched sale's count once per `SHOP_LIVE_POLL_MS` (250 ms) per process and sends a page only a changed count, so a page hears at most 4 updates a second whatever the purchase rate. Delay: from the purchase request that left a count to that count's arrival at a page (the load tool and its {pages} readers run on the same 2 cores).\n",
        pages = args.pages,
    );
    let _ = writeln!(md, "| | no page open (baseline) | {} pages open | ratio |", args.pages);
    let _ = writeln!(md, "|---|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| purchases/s | {:.0} | {:.0} | {:.2} |",
        units as f64 / base_time.as_secs_f64(),
        units as f64 / buy_time.as_secs_f64(),
        base_time.as_secs_f64() / buy_time.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| purchase p50 / p99 ms | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} (p99) |",
        base_lat.p50,
        base_lat.p99,
        lat.p50,
        lat.p99,
        lat.p99 / base_lat.p99.max(0.001)
    );
    let _ = writeln!(
        md,
        "| shop CPU while buying, s (per purchase, ms) | {base_cpu:.2} ({:.2}) | {cpu:.2} ({:.2}) | {:.2} |",
        base_cpu * 1000.0 / units as f64,
        cpu * 1000.0 / units as f64,
        cpu / base_cpu.max(0.01)
    );
    let _ = writeln!(md, "| shop RSS, MiB | {:.0} | {:.0} | |", idle_rss / 1024.0, open_rss / 1024.0);
    let _ = writeln!(md);
    let _ = writeln!(md, "- Memory: **{per_page_kib:.1} KiB per open page** (RSS growth over {} pages; opening them all took {:.1} s).", args.pages, open_time.as_secs_f64());
    let _ =
        writeln!(md, "- CPU with every page open and nobody buying: {:.1} % of one core.", idle_cpu * 100.0);
    let _ = writeln!(md, "- Updates: {updates} events to {} pages for {units} purchases, **{per_page_updates:.1} per page** (coalesced; one per purchase would be {units}).", heard.len());
    let _ = writeln!(md, "- Delay from purchase to page: **p50 {:.0} ms, p99 {:.0} ms**, max {:.0} ms ({} samples); every page heard the final count (0 left) within {:.1} s of the last purchase.", delay.p50, delay.p99, delay.max, delays.len(), settle.as_secs_f64());
    let _ = writeln!(
        md,
        "- Checks: {}.",
        if failures.is_empty() {
            "every page ended on 0 left, no count rose, every purchase an order, nobody over the limit: held"
                .to_string()
        } else {
            failures.join("; ")
        }
    );
    let _ = writeln!(
        md,
        "- Client bundle: {}.",
        bundle_size(std::path::Path::new("target/site/pkg/shop_bg.wasm"))
    );
    let _ = writeln!(md, "{}", crate::sections::LIVE.end);
    Ok((md, failures))
}

/// The client bundle's size as `scripts/wasm` left it (raw and brotli, quality 11, by Node's
/// zlib), or why not.
fn bundle_size(wasm: &std::path::Path) -> String {
    let Ok(meta) = std::fs::metadata(wasm) else {
        return format!("not built here ({} missing: scripts/wasm)", wasm.display());
    };
    let brotli = std::process::Command::new("node")
        .args([
            "-e",
            "const z=require('zlib');const b=require('fs').readFileSync(process.argv[1]);\
             process.stdout.write(String(z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length))",
        ])
        .arg(wasm)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into());
    format!(
        "`shop_bg.wasm` **{} bytes** after wasm-opt (budget 200,000), **{brotli} bytes brotli**",
        meta.len()
    )
}
