//! A fresh shop for one run: a new data directory (embedded) or a new PostgreSQL database and
//! Redis prefix (scaled), and the real `shop` binary started as child processes.

use anyhow::{bail, Context, Result};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the shop runs in a drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `shop` process: SQLite, in-memory gate, in-process bus, workers in-process.
    Embedded,
    /// PostgreSQL + Redis + Kafka: 2 `shop serve` and 2 `shop worker all` processes. The
    /// Kafka broker is librdkafka's mock cluster, hosted by this tool (no Kafka package can
    /// be installed here); every process reaches it over TCP like a real broker.
    Scaled,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "embedded" => Some(Mode::Embedded),
            "scaled" => Some(Mode::Scaled),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded (SQLite, memory gate, in-process bus; 1 process)",
            Mode::Scaled => "scaled (PostgreSQL + Redis + Kafka; 2 web + 2 worker processes)",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Scaled => "scaled",
        }
    }
}

/// Where the servers of the scaled mode are.
#[derive(Debug, Clone)]
pub struct Services {
    pub pg_admin_url: String,
    pub redis_url: String,
}

/// The key the shop encrypts card numbers with; the drill stores cards with the same one.
pub const SECRET_KEY: &str = "YmVuY2gtb25seS1rZXktMDEyMzQ1Njc4OWFiY2RlZiE=";

pub struct Deployment {
    pub mode: Mode,
    /// The web processes' addresses; load is spread over them.
    pub web: Vec<SocketAddr>,
    /// What the drill opens to prepare data and check the invariants.
    pub database_url: String,
    children: Vec<Child>,
    /// How each child was started, so [`Deployment::restart`] can start it again.
    specs: Vec<Spawn>,
    dir: PathBuf,
    pg: Option<(String, String)>,
    _kafka: Option<MockCluster<'static, DefaultProducerContext>>,
}

/// One process of a deployment: `bin args…` with `env`, listening on `addr` (web) or not.
#[derive(Clone)]
struct Spawn {
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    addr: Option<SocketAddr>,
    name: String,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Deployment {
    /// Starts the shop in `mode` from `shop_bin` in a fresh data directory under `root`.
    pub async fn start(
        mode: Mode,
        shop_bin: &Path,
        root: &Path,
        run: usize,
        services: &Services,
        extra_env: &[(String, String)],
    ) -> Result<Deployment> {
        let dir = root.join(format!("run-{run}-{}", mode.name()));
        std::fs::create_dir_all(&dir)?;
        let mut env: Vec<(String, String)> = vec![
            ("SHOP_DATA_DIR".into(), dir.display().to_string()),
            ("SHOP_SECRET_KEY".into(), SECRET_KEY.into()),
            ("SHOP_SEED".into(), "false".into()),
            ("SHOP_METRICS_ADDR".into(), "off".into()),
            // Every simulated buyer connects from 127.0.0.1: the per-IP budget would refuse
            // a crowd that, in a real rush, comes from thousands of addresses.
            ("SHOP_WRITES_PER_MINUTE_PER_IP".into(), "0".into()),
            // The demo clock off: payment and carrier answer at once.
            ("SHOP_PAYMENT_LATENCY_MS".into(), "0".into()),
            ("SHOP_CARRIER_IN_TRANSIT_MS".into(), "0".into()),
            ("SHOP_CARRIER_DELIVERED_MS".into(), "0".into()),
            ("SHOP_TRACKER_POLL_MS".into(), "20".into()),
            ("RUST_LOG".into(), std::env::var("SHOP_BENCH_LOG").unwrap_or_else(|_| "info".into())),
        ];
        let mut pg = None;
        let mut kafka = None;
        let database_url = match mode {
            Mode::Embedded => format!("sqlite://{}", dir.join("shop.db").display()),
            Mode::Scaled => {
                let name = format!("flashmart_bench_{}_{run}", std::process::id());
                create_database(&services.pg_admin_url, &name).await?;
                let url = with_database(&services.pg_admin_url, &name);
                pg = Some((services.pg_admin_url.clone(), name));
                let cluster = MockCluster::new(1).context("starting the mock Kafka broker")?;
                // The mock broker answers no CreateTopics: make them as an operator would.
                for t in shop_domain::saga::topic::ALL {
                    cluster.create_topic(t, 6, 1).context("creating a topic")?;
                }
                env.push(("KAFKA_BROKERS".into(), cluster.bootstrap_servers()));
                kafka = Some(cluster);
                env.push(("DATABASE_URL".into(), url.clone()));
                env.push(("REDIS_URL".into(), services.redis_url.clone()));
                env.push(("SHOP_REDIS_PREFIX".into(), format!("bench:{}:{run}:", std::process::id())));
                url
            }
        };
        env.extend(extra_env.iter().cloned());
        let mut d = Deployment {
            mode,
            web: Vec::new(),
            database_url,
            children: Vec::new(),
            specs: Vec::new(),
            dir,
            pg,
            _kafka: kafka,
        };
        match d.launch(shop_bin, &env).await {
            Ok(()) => Ok(d),
            Err(e) => {
                // Processes stopped and the database dropped; the logs stay for reading.
                let _ = d.terminate().await;
                if let Some((admin, name)) = d.pg.take() {
                    let _ = drop_database(&admin, &name).await;
                }
                Err(e)
            }
        }
    }

    /// Starts the processes of the mode (after `shop migrate` when scaled) and waits until
    /// every web process is healthy.
    async fn launch(&mut self, shop_bin: &Path, env: &[(String, String)]) -> Result<()> {
        match self.mode {
            Mode::Embedded => {
                let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
                self.spawn(shop_bin, &[], env, Some(addr), "shop")?;
                self.web.push(addr);
            }
            Mode::Scaled => {
                // One process migrates first, so the others do not race on the schema.
                let status = Command::new(shop_bin)
                    .arg("migrate")
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .stdout(Stdio::null())
                    .status()?;
                if !status.success() {
                    bail!("shop migrate failed");
                }
                for n in 0..2 {
                    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
                    self.spawn(shop_bin, &["serve"], env, Some(addr), &format!("web{n}"))?;
                    self.web.push(addr);
                }
                for n in 0..2 {
                    self.spawn(shop_bin, &["worker", "all"], env, None, &format!("worker{n}"))?;
                }
            }
        }
        for addr in self.web.clone() {
            self.wait_healthy(addr).await?;
        }
        Ok(())
    }

    fn spawn(
        &mut self,
        bin: &Path,
        args: &[&str],
        env: &[(String, String)],
        addr: Option<SocketAddr>,
        name: &str,
    ) -> Result<()> {
        let spec = Spawn {
            bin: bin.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env.to_vec(),
            addr,
            name: name.to_string(),
        };
        self.start_process(&spec)?;
        self.specs.push(spec);
        Ok(())
    }

    fn start_process(&mut self, spec: &Spawn) -> Result<()> {
        // Appended: a restarted process writes after its previous life.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", spec.name)))?;
        let mut cmd = Command::new(&spec.bin);
        cmd.args(&spec.args).envs(spec.env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null());
        if let Some(a) = spec.addr {
            cmd.env("SHOP_ADDR", a.to_string());
        }
        cmd.stdout(log.try_clone()?).stderr(log);
        let child = cmd.spawn().with_context(|| format!("starting {}", spec.bin.display()))?;
        self.children.push(child);
        Ok(())
    }

    /// Stops every shop process (as [`Deployment::stop`] does) and starts each again with the
    /// same command, environment and address; returns when every web process is healthy.
    /// The database, the data directory and the broker stay.
    pub async fn restart(&mut self) -> Result<()> {
        self.restart_with(&[]).await
    }

    /// [`Deployment::restart`], each process also given `env` (for this life only).
    pub async fn restart_with(&mut self, env: &[(&str, &str)]) -> Result<()> {
        self.terminate().await?;
        self.children.clear();
        let specs = std::mem::take(&mut self.specs);
        for spec in &specs {
            let mut spec = spec.clone();
            spec.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            self.start_process(&spec)?;
        }
        self.specs = specs;
        for addr in self.web.clone() {
            self.wait_healthy(addr).await?;
        }
        Ok(())
    }

    async fn wait_healthy(&mut self, addr: SocketAddr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if crate::load::get_ok(addr, "/healthz").await {
                return Ok(());
            }
            for c in &mut self.children {
                if let Some(status) = c.try_wait()? {
                    bail!(
                        "a shop process exited during start-up ({status}); see the logs in {}",
                        self.dir.display()
                    );
                }
            }
            if Instant::now() > deadline {
                bail!("the shop at {addr} did not become healthy within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The shop processes' ids.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Peak resident memory of the shop processes, in MiB (from /proc; 0 where unavailable).
    pub fn peak_rss_mib(&self) -> f64 {
        self.children
            .iter()
            .filter_map(|c| std::fs::read_to_string(format!("/proc/{}/status", c.id())).ok())
            .filter_map(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
            })
            .sum::<f64>()
            / 1024.0
    }

    /// SIGTERM to every process, SIGKILL to those still running after 10 s.
    async fn terminate(&mut self) -> Result<()> {
        for c in &self.children {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for c in &mut self.children {
            while c.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// Stops every process (SIGTERM, then SIGKILL after 10 s) and drops the database.
    pub async fn stop(mut self) -> Result<()> {
        self.terminate().await?;
        if let Some((admin, name)) = self.pg.take() {
            if keep() {
                println!("kept database {name} (SHOP_BENCH_KEEP)");
            } else {
                drop_database(&admin, &name).await?;
            }
        }
        remove_unless_kept(&self.dir);
        Ok(())
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `postgres://host/admin` with the database replaced by `name`.
/// `SHOP_BENCH_KEEP` set: a run's files and PostgreSQL databases stay, to look at logs and
/// query plans afterwards.
fn keep() -> bool {
    std::env::var_os("SHOP_BENCH_KEEP").is_some()
}

/// Removes a run's files, unless `SHOP_BENCH_KEEP` is set.
pub fn remove_unless_kept(dir: &std::path::Path) {
    if !keep() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

pub fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn create_database(admin_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url).await.context("connecting to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    Ok(())
}

async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
    Ok(())
}
