//! The `shop` server: wires configuration, the store and the web tier together.
//! `main.rs` is only the command line around [`start`].

pub mod admin;
pub mod bus;
pub mod config;
pub mod gate;
pub mod guard;
pub mod headers;
pub mod live;
pub mod mail;
pub mod media;
pub mod saga;
pub mod sessions;
pub mod shed;
pub mod sim;
pub mod telemetry;
pub mod web;

use app::state::AppState;
use bus::EventBus as _;
use config::Config;
use leptos::config::LeptosOptions;
use shop_domain::gate::StockGate;
use shop_domain::Timestamp;
use shop_store::{SeedReport, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the server could not start. Each message is one line for an operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] shop_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("mail (SHOP_SMTP_URL / SHOP_MAIL_FROM): {0}")]
    Mail(String),
    #[error("stock gate (REDIS_URL): {0}")]
    Gate(String),
    #[error("secret key: {0}")]
    SecretKey(String),
    #[error("event bus (KAFKA_BROKERS): {0}")]
    Bus(String),
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
}

/// Creates `dir` (and its parents) owner-only (0700) when missing; an existing directory is
/// left as it is.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The key that encrypts secrets at rest: `SHOP_SECRET_KEY`, or (development only) a key
/// generated once into `<data dir>/secret.key` with owner-only permissions.
pub fn load_secret_key(config: &Config) -> Result<Vec<u8>, StartError> {
    if let Some(k) = &config.secret_key {
        return Ok(k.clone());
    }
    let path = config.data_dir.join("secret.key");
    let err = |e: std::io::Error| StartError::SecretKey(format!("{}: {e}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == shop_security::KEY_LEN => return Ok(bytes),
        Ok(_) => return Err(StartError::SecretKey(format!("{} is not a 32-byte key", path.display()))),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        Err(_) => {}
    }
    private_dir(&config.data_dir).map_err(err)?;
    let key = shop_security::SecretBox::generate_key();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options.open(&path).and_then(|mut f| f.write_all(&key)).map_err(err)?;
    tracing::warn!(path = %path.display(), "generated a development secret key; set SHOP_SECRET_KEY in production");
    Ok(key)
}

/// How long shutdown waits for in-flight requests and database connections.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A running server: its address, and a way to stop it gracefully.
pub struct Running {
    /// Where the web tier listens (the unspecified address when this process runs no web tier).
    pub addr: SocketAddr,
    /// Where `/metrics` is served, if anywhere (never on `addr`).
    pub metrics_addr: Option<SocketAddr>,
    pub store: Store,
    /// The stock gate and event bus this process uses (tests look inside).
    pub gate: Arc<dyn StockGate>,
    pub bus: Arc<dyn bus::EventBus>,
    /// The buy path's bounded queue (tests hold its places to see a shed buyer's answer).
    pub buy_queue: shed::BuyQueue,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    workers: CancellationToken,
    worker_tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, finishes in-flight requests, closes the pool.
    /// In-flight requests get [`SHUTDOWN_GRACE`]; after that the remaining connections are
    /// dropped, so a stuck client can never keep the process (or a test) alive.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Workers first: a message being handled finishes (or is left unacknowledged).
        self.workers.cancel();
        for t in std::mem::take(&mut self.worker_tasks) {
            let abort = t.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, t).await.is_err() {
                tracing::warn!("a worker did not stop within the grace period; aborting it");
                abort.abort();
            }
        }
        let abort = self.task.abort_handle();
        let result = match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await {
            Ok(joined) => joined.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(_) => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them");
                abort.abort();
                Ok(())
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, self.store.close()).await.is_err() {
            tracing::warn!("database connections still in use after the grace period; leaving them");
        }
        result
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        signal.await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// The name mails are signed with.
pub const SHOP_NAME: &str = "Flashmart";

/// Opens the database (migrating and seeding it), binds the address and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    config.check_shared_gate()?;
    // The web tier binds first: links in mails point at the bound address unless
    // SHOP_PUBLIC_URL says otherwise (port 0 picks a free port).
    let listener = match config.web {
        true => Some(listen(config.addr).map_err(|source| StartError::Bind { addr: config.addr, source })?),
        false => None,
    };
    let bound = match &listener {
        Some(l) => l.local_addr().map_err(|source| StartError::Bind { addr: config.addr, source })?,
        None => config.addr,
    };
    let mail_sender = shop_store::MailSender {
        shop: SHOP_NAME.into(),
        public_url: config.mail.public_url.clone().unwrap_or_else(|| format!("http://{bound}")),
    };
    let store = Store::connect(&config.database_url, config.db_max_connections)
        .await?
        .with_catalog_cache(config.catalog_cache)
        .with_mail_sender(mail_sender.clone());
    store.migrate().await?;
    let secrets = shop_security::SecretBox::new(&load_secret_key(&config)?)
        .map_err(|e| StartError::SecretKey(e.to_string()))?;
    if config.seed {
        match store.seed_demo(Timestamp::now()).await? {
            SeedReport::AlreadySeeded => tracing::debug!("demo catalog already present"),
            SeedReport::Seeded { products, sales } => {
                tracing::info!(products, sales, "seeded the demo catalog")
            }
        }
        admin::ensure_demo_admin(&store, &config.data_dir).await?;
    }

    let gate: Arc<dyn StockGate> = match &config.redis_url {
        Some(url) => Arc::new(
            gate::RedisGate::connect(url, &config.redis_prefix)
                .await
                .map_err(|e| StartError::Gate(e.to_string()))?,
        ),
        None => Arc::new(gate::MemoryGate::new()),
    };
    let bus = connect_bus(&config).await?;
    let workers = CancellationToken::new();
    let worker_tasks = if config.roles.is_empty() {
        Vec::new()
    } else {
        let deps = saga::SagaDeps {
            store: store.clone(),
            bus: bus.clone(),
            inventory: shop_store::Inventory::new(store.clone(), gate.clone()),
            secrets: secrets.clone(),
            payments: Arc::new(sim::SimPaymentProvider::new(store.clone(), config.payment)),
            carrier: Arc::new(sim::SimCarrier::new(config.carrier)),
        };
        tracing::info!(roles = ?config.roles, bus = ?bus, "starting background work");
        let mut tasks = saga::spawn(&config.roles, &deps, &config.saga, &workers);
        if config.roles.contains(&saga::Role::Mail) {
            let mailer = mail::mailer(&config.mail, &config.data_dir).map_err(|e| StartError::Mail(e.to_string()))?;
            tracing::info!(to = %mailer.describe(), "mail worker: sending");
            tasks.push(tokio::spawn(mail::run(store.clone(), mailer, config.mail.clone(), workers.clone())));
        }
        tasks
    };
    let buy_queue = shed::BuyQueue::new(config.buy_concurrency, config.buy_queue_wait);
    if !config.web {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = rx.await;
            Ok(())
        });
        let addr = SocketAddr::from(([0, 0, 0, 0], 0));
        return Ok(Running {
            addr,
            metrics_addr: None,
            store,
            gate,
            bus,
            buy_queue,
            shutdown: Some(tx),
            task,
            workers,
            worker_tasks,
        });
    }

    let bundle = config.site_root.join("pkg").join("shop.js");
    app::set_hydration_bundle(bundle.is_file());

    // Bound above whenever the web tier runs (the worker-only case returned).
    let listener = listener.ok_or_else(|| StartError::Bind {
        addr: config.addr,
        source: std::io::Error::other("the web tier has no listener"),
    })?;
    let addr = bound;

    let leptos_options = LeptosOptions::builder()
        .output_name("shop")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let state = AppState::from(app::state::Services {
        inventory: shop_store::Inventory::new(store.clone(), gate.clone()),
        uploads_dir: config.data_dir.join("uploads"),
        store: store.clone(),
        secrets,
        limits: app::auth::Limits::new(config.limits),
        signed_in: app::auth::SignedIn::default(),
        mail: mail_sender,
        returns: config.returns,
    });
    let limits = state.limits.clone();
    let sessions =
        web::SessionSettings { secure: config.secure_cookies, idle_minutes: config.session_idle_minutes };
    // Ends the live stock streams at shutdown (they would hold it open otherwise).
    let live_stop = CancellationToken::new();
    let live = live::StockFeed::new(state.clone(), config.live_poll, live_stop.clone());
    let (router, metrics) = web::router(leptos_options, state, sessions, buy_queue.clone(), live);
    let metrics_listener = match config.metrics_addr {
        Some(at) => {
            Some(TcpListener::bind(at).await.map_err(|source| StartError::Bind { addr: at, source })?)
        }
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr().map_err(|source| StartError::Bind { addr, source })?),
        None => None,
    };
    let sweeper = tokio::spawn(sweep(store.clone(), limits));
    let shed_reports = tokio::spawn(buy_queue.clone().report_shed(gate.clone()));
    let metrics_task = metrics_listener.map(|l| {
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, metrics).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        })
    });

    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
                live_stop.cancel();
            })
            .await;
        sweeper.abort();
        shed_reports.abort();
        if let Some(m) = metrics_task {
            m.abort();
        }
        served
    });
    tracing::info!(%addr, metrics = ?metrics_addr, backend = store.backend().name(), "serving");
    Ok(Running {
        addr,
        metrics_addr,
        store,
        gate,
        bus,
        buy_queue,
        shutdown: Some(tx),
        task,
        workers,
        worker_tasks,
    })
}

/// Binds the shop's address with a long accept queue: when thousands of buyers connect in
/// the same instant (a sale opening), a short queue (tokio's default is 1,024) drops their
/// SYNs and each dropped one waits a full second for the retry. The kernel caps it at
/// `net.core.somaxconn`.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(16_384)
}

/// Kafka when `KAFKA_BROKERS` is set (topics created when missing), else the in-process bus.
async fn connect_bus(config: &Config) -> Result<Arc<dyn bus::EventBus>, StartError> {
    let bus: Arc<dyn bus::EventBus> = match &config.kafka_brokers {
        Some(brokers) => {
            let kafka = bus::KafkaBus::connect(bus::KafkaSettings {
                brokers: brokers.clone(),
                partitions: config.kafka_partitions,
                idempotence: config.kafka_idempotence,
                group_prefix: config.kafka_group_prefix.clone(),
            })
            .map_err(|e| StartError::Bus(e.to_string()))?;
            if let Err(e) = kafka.ensure_topics().await {
                // Not fatal: the relay keeps events in the outbox until the broker is back.
                tracing::warn!(error = %e, "could not check or create Kafka topics");
            }
            Arc::new(kafka)
        }
        None => Arc::new(bus::LocalBus::new(4)),
    };
    Ok(if config.bus_duplicates {
        tracing::warn!("SHOP_BUS_DUPLICATES is on: every event is delivered more than once (fault testing)");
        Arc::new(bus::DuplicatingBus::new(bus))
    } else {
        bus
    })
}

/// Every ten minutes: deletes expired sessions and forgets attempt-limit keys whose budget is
/// full again (both would otherwise only grow).
async fn sweep(store: Store, limits: app::auth::Limits) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        limits.prune();
        match store.delete_expired_sessions(Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(n, "expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    // The handlers are installed now, not when the future is first polled: a SIGTERM that
    // arrives right after start-up must still shut down gracefully.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
