//! Typed configuration from the environment. A bad value stops start-up with one line naming
//! the variable. Every variable is listed in `.env.example` and the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

pub(crate) fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Local use: a missing secret key is generated into the data directory.
    Development,
    /// A missing `SHOP_SECRET_KEY` refuses to start; cookies default to `Secure`.
    Production,
}

#[derive(Clone)]
pub struct Config {
    /// `SHOP_ADDR`: where the web server listens (port 0 picks a free port).
    pub addr: SocketAddr,
    /// `SHOP_DATA_DIR`: the embedded database, generated keys and uploads live here.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: `sqlite:…` or `postgres://…`; defaults to `<data dir>/shop.db`.
    pub database_url: String,
    /// `SHOP_DB_MAX_CONNECTIONS`
    pub db_max_connections: u32,
    /// `REDIS_URL`: the stock gate and sessions move to Redis when set.
    pub redis_url: Option<String>,
    /// `SHOP_REDIS_PREFIX`: namespace for this shop's Redis keys (default `flashmart:`).
    pub redis_prefix: String,
    /// `KAFKA_BROKERS`: the event bus moves to Kafka when set.
    pub kafka_brokers: Option<String>,
    /// `SHOP_SEED`: write the demo catalog on first start.
    pub seed: bool,
    /// `LEPTOS_SITE_ROOT`: where a built client bundle (`pkg/`) is served from, if any.
    pub site_root: PathBuf,
    /// `SHOP_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `SHOP_ENV`: `development` (default) or `production`.
    pub mode: RunMode,
    /// `SHOP_SECRET_KEY`: base64 of 32 bytes; encrypts card and account numbers at rest.
    pub secret_key: Option<Vec<u8>>,
    /// `SHOP_SECURE_COOKIES`: mark the session cookie `Secure` (HTTPS only).
    pub secure_cookies: bool,
    /// `SHOP_SESSION_IDLE_MINUTES`: a session ends after this long without a request.
    pub session_idle_minutes: i64,
    /// `SHOP_AUTH_ATTEMPTS_PER_MINUTE` (login/signup per IP and per account),
    /// `SHOP_ORDER_ATTEMPTS_PER_MINUTE` and `SHOP_CART_WRITES_PER_MINUTE` (per account),
    /// `SHOP_WRITES_PER_MINUTE_PER_IP` (orders and cart writes together, 0 = no limit).
    pub limits: app::auth::LimitSettings,
    /// `SHOP_BUY_CONCURRENCY`: purchases worked on at once; `SHOP_BUY_QUEUE_MS`: how long a
    /// purchase may wait for a place before it is shed with 503 + `Retry-After`.
    pub buy_concurrency: usize,
    pub buy_queue_wait: std::time::Duration,
    /// `SHOP_CATALOG_CACHE_MS`: how long product, sale, shelf, tag and search reads are kept in this
    /// process (other processes' changes show within it); 0 turns the cache off.
    pub catalog_cache: std::time::Duration,
    /// `SHOP_LIVE_POLL_MS`: how often a watched sale's stock is read for the pages that show it
    /// live (at most one update per page per interval).
    pub live_poll: std::time::Duration,
    /// `SHOP_METRICS_ADDR`: where Prometheus metrics are served (default 127.0.0.1:9464, a
    /// listener of its own so the public address never serves them); `off` serves none.
    pub metrics_addr: Option<SocketAddr>,
    /// What this process runs: the web tier and/or background roles (set by the command
    /// line: `shop` = everything, `shop serve` = web only, `shop worker …` = workers only).
    pub web: bool,
    pub roles: Vec<crate::saga::Role>,
    /// `SHOP_KAFKA_PARTITIONS` (topics the shop creates), `SHOP_KAFKA_IDEMPOTENCE`,
    /// `SHOP_KAFKA_GROUP_PREFIX`.
    pub kafka_partitions: i32,
    pub kafka_idempotence: bool,
    pub kafka_group_prefix: String,
    /// `SHOP_BUS_DUPLICATES`: fault testing: publish every event twice plus an out-of-order
    /// repeat of the previous one.
    pub bus_duplicates: bool,
    /// `SHOP_PAYMENT_LATENCY_MS`, `SHOP_PAYMENT_FAILURE_RATE`: the simulated payment provider.
    pub payment: crate::sim::SimPaymentSettings,
    /// `SHOP_CARRIER_IN_TRANSIT_MS`, `SHOP_CARRIER_DELIVERED_MS`: the simulated carrier's clock.
    pub carrier: crate::sim::SimCarrierSettings,
    /// `SHOP_PAYMENT_TIMEOUT_MS`, `SHOP_SAGA_STUCK_SECS`, `SHOP_RECONCILE_SECS`,
    /// `SHOP_TRACKER_POLL_MS`, `SHOP_SAGA_RETRY_MS` (first retry backoff).
    pub saga: crate::saga::SagaSettings,
    /// `SHOP_SMTP_URL`, `SHOP_MAIL_FROM`, `SHOP_PUBLIC_URL`, `SHOP_MAIL_RETRY_MS`.
    pub mail: crate::mail::MailSettings,
    /// `SHOP_RETURN_DAYS`: how long after delivery a buyer may ask for a return (0 to 365;
    /// default 14; 0 turns returns off).
    pub returns: shop_domain::returns::ReturnPolicy,
}

/// Never print the secret key.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("mode", &self.mode)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the config from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        let addr = match get("SHOP_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(v) => v
                .parse()
                .map_err(|_| bad("SHOP_ADDR", format!("'{v}' is not an address like 127.0.0.1:3000")))?,
        };
        let data_dir = PathBuf::from(get("SHOP_DATA_DIR").unwrap_or_else(|| "data".to_string()));
        let database_url =
            match get("DATABASE_URL") {
                None => format!("sqlite://{}", data_dir.join("shop.db").display()),
                Some(url) if shop_store::Backend::from_url(&url).is_some() => url,
                Some(_) => return Err(bad(
                    "DATABASE_URL",
                    "must start with sqlite: or postgres:// (the value is not shown: it may hold a password)",
                )),
            };
        let db_max_connections = match get("SHOP_DB_MAX_CONNECTIONS") {
            None => 16,
            Some(v) => v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                bad("SHOP_DB_MAX_CONNECTIONS", format!("'{v}' is not a number from 1 to 1000"))
            })?,
        };
        let redis_url = match get("REDIS_URL") {
            Some(u) if !(u.starts_with("redis://") || u.starts_with("rediss://")) => {
                return Err(bad("REDIS_URL", "must start with redis:// or rediss://"))
            }
            other => other,
        };
        let redis_prefix = get("SHOP_REDIS_PREFIX").unwrap_or_else(|| "flashmart:".to_string());
        let kafka_brokers = get("KAFKA_BROKERS");
        if let Some(b) = &kafka_brokers {
            if b.split(',').any(|h| !h.trim().contains(':')) {
                return Err(bad("KAFKA_BROKERS", format!("'{b}' must be host:port[,host:port…]")));
            }
        }
        let seed = match get("SHOP_SEED").as_deref() {
            None => true,
            Some(v) => {
                parse_bool(v).ok_or_else(|| bad("SHOP_SEED", format!("'{v}' is not true or false")))?
            }
        };
        let site_root = PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_string()));
        let log_format = match get("SHOP_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => return Err(bad("SHOP_LOG_FORMAT", format!("'{v}' is not text or json"))),
        };
        let mode = match get("SHOP_ENV").as_deref() {
            None | Some("development" | "dev") => RunMode::Development,
            Some("production" | "prod") => RunMode::Production,
            Some(v) => return Err(bad("SHOP_ENV", format!("'{v}' is not development or production"))),
        };
        let secret_key = match get("SHOP_SECRET_KEY") {
            None => None,
            Some(v) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_bytes())
                    .ok()
                    .filter(|b| b.len() == 32)
                    .ok_or_else(|| {
                        bad(
                            "SHOP_SECRET_KEY",
                            "must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)",
                        )
                    })?;
                Some(bytes)
            }
        };
        if mode == RunMode::Production && secret_key.is_none() {
            return Err(bad("SHOP_SECRET_KEY", "required when SHOP_ENV=production (base64 of 32 bytes)"));
        }
        let secure_cookies = match get("SHOP_SECURE_COOKIES").as_deref() {
            None => mode == RunMode::Production,
            Some(v) => parse_bool(v)
                .ok_or_else(|| bad("SHOP_SECURE_COOKIES", format!("'{v}' is not true or false")))?,
        };
        let session_idle_minutes = match get("SHOP_SESSION_IDLE_MINUTES") {
            None => 14 * 24 * 60,
            Some(v) => v.parse::<i64>().ok().filter(|n| (1..=525_600).contains(n)).ok_or_else(|| {
                bad("SHOP_SESSION_IDLE_MINUTES", format!("'{v}' is not a number of minutes from 1 to 525600"))
            })?,
        };
        let number = |var: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| bad(var, format!("'{v}' is not a whole number from 0 to {max}"))),
            }
        };
        let flag = |var: &'static str, default: bool| -> Result<bool, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => parse_bool(&v).ok_or_else(|| bad(var, format!("'{v}' is not true or false"))),
            }
        };
        let per_minute = |var: &'static str, default: u32, min: u64| -> Result<u32, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => {
                    v.parse::<u32>().ok().filter(|n| (min..=1_000_000).contains(&u64::from(*n))).ok_or_else(
                        || {
                            bad(
                                var,
                                format!("'{v}' is not a number of attempts per minute from {min} to 1000000"),
                            )
                        },
                    )
                }
            }
        };
        let limits = app::auth::LimitSettings {
            auth: per_minute("SHOP_AUTH_ATTEMPTS_PER_MINUTE", 10, 1)?,
            orders: per_minute("SHOP_ORDER_ATTEMPTS_PER_MINUTE", 10, 1)?,
            cart_writes: per_minute("SHOP_CART_WRITES_PER_MINUTE", 60, 1)?,
            writes_per_ip: per_minute("SHOP_WRITES_PER_MINUTE_PER_IP", 1200, 0)?,
        };
        let buy_concurrency = match number("SHOP_BUY_CONCURRENCY", 256, 100_000)? {
            0 => return Err(bad("SHOP_BUY_CONCURRENCY", "must be at least 1")),
            n => n as usize,
        };
        let buy_queue_wait = std::time::Duration::from_millis(number("SHOP_BUY_QUEUE_MS", 500, 60_000)?);
        let catalog_cache = std::time::Duration::from_millis(number(
            "SHOP_CATALOG_CACHE_MS",
            shop_store::DEFAULT_CATALOG_TTL.as_millis() as u64,
            60_000,
        )?);
        let live_poll = match number("SHOP_LIVE_POLL_MS", crate::live::POLL.as_millis() as u64, 60_000)? {
            0 => return Err(bad("SHOP_LIVE_POLL_MS", "must be at least 1")),
            ms => std::time::Duration::from_millis(ms),
        };
        let metrics_addr = match get("SHOP_METRICS_ADDR").as_deref() {
            None => Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            Some("off") => None,
            Some(v) => Some(v.parse().map_err(|_| {
                bad("SHOP_METRICS_ADDR", format!("'{v}' is not an address like 127.0.0.1:9464 (or off)"))
            })?),
        };
        use std::time::Duration;
        let ms = Duration::from_millis;
        let failure_rate = match get("SHOP_PAYMENT_FAILURE_RATE") {
            None => 0.0,
            Some(v) => v.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r)).ok_or_else(|| {
                bad("SHOP_PAYMENT_FAILURE_RATE", format!("'{v}' is not a share from 0 to 1 (e.g. 0.05)"))
            })?,
        };
        let payment = crate::sim::SimPaymentSettings {
            latency: ms(number("SHOP_PAYMENT_LATENCY_MS", 150, 60_000)?),
            failure_rate,
        };
        let in_transit = number("SHOP_CARRIER_IN_TRANSIT_MS", 3_000, 86_400_000)?;
        let delivered = number("SHOP_CARRIER_DELIVERED_MS", 10_000, 86_400_000)?;
        if delivered < in_transit {
            return Err(bad("SHOP_CARRIER_DELIVERED_MS", "must not be less than SHOP_CARRIER_IN_TRANSIT_MS"));
        }
        let carrier = crate::sim::SimCarrierSettings {
            latency: ms(20),
            in_transit_after: ms(in_transit),
            delivered_after: ms(delivered),
        };
        let defaults = crate::saga::SagaSettings::default();
        let first_backoff = ms(number("SHOP_SAGA_RETRY_MS", 100, 60_000)?.max(1));
        let saga = crate::saga::SagaSettings {
            retry: crate::bus::RetryPolicy { first_backoff, ..defaults.retry },
            payment_timeout: ms(number("SHOP_PAYMENT_TIMEOUT_MS", 3_000, 600_000)?.max(1)),
            stuck_after: Duration::from_secs(number("SHOP_SAGA_STUCK_SECS", 60, 86_400)?.max(1)),
            reconcile_every: Duration::from_secs(number("SHOP_RECONCILE_SECS", 10, 86_400)?.max(1)),
            tracker_poll: ms(number("SHOP_TRACKER_POLL_MS", 500, 600_000)?.max(10)),
            ..defaults
        };
        let kafka_partitions = number("SHOP_KAFKA_PARTITIONS", 6, 1_000)?.max(1) as i32;
        let mail = crate::mail::MailSettings::from_lookup(&get, mode)?;
        let returns = shop_domain::returns::ReturnPolicy {
            days: number("SHOP_RETURN_DAYS", shop_domain::returns::DEFAULT_DAYS as u64, 365)? as i64,
        };
        Ok(Config {
            mail,
            returns,
            web: true,
            roles: crate::saga::Role::ALL.to_vec(),
            kafka_partitions,
            kafka_idempotence: flag("SHOP_KAFKA_IDEMPOTENCE", true)?,
            kafka_group_prefix: get("SHOP_KAFKA_GROUP_PREFIX").unwrap_or_else(|| "shop-".to_string()),
            bus_duplicates: flag("SHOP_BUS_DUPLICATES", false)?,
            payment,
            carrier,
            saga,
            mode,
            secret_key,
            secure_cookies,
            session_idle_minutes,
            limits,
            buy_concurrency,
            buy_queue_wait,
            catalog_cache,
            live_poll,
            metrics_addr,
            addr,
            data_dir,
            database_url,
            db_max_connections,
            redis_url,
            redis_prefix,
            kafka_brokers,
            seed,
            site_root,
            log_format,
        })
    }

    /// A store that serves buyers (web tier or workers) on a database other processes share
    /// needs the shared stock gate: with one in-memory gate per process, every process would
    /// sell the whole stock again.
    pub fn check_shared_gate(&self) -> Result<(), ConfigError> {
        let shared_db =
            shop_store::Backend::from_url(&self.database_url) == Some(shop_store::Backend::Postgres);
        if shared_db && self.redis_url.is_none() && (self.web || !self.roles.is_empty()) {
            return Err(bad(
                "REDIS_URL",
                "required with a PostgreSQL DATABASE_URL: every process that shares the database must share \
                 one stock gate (otherwise each would sell the whole stock)",
            ));
        }
        Ok(())
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_embedded() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/shop.db");
        assert!(c.seed);
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()), "metrics on loopback only");
        assert!(c.check_shared_gate().is_ok());
    }

    #[test]
    fn data_dir_moves_the_database() {
        let c = cfg(&[("SHOP_DATA_DIR", "/tmp/x")]).unwrap();
        assert_eq!(c.database_url, "sqlite:///tmp/x/shop.db");
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(cfg(&[("SHOP_ADDR", "nope")]).unwrap_err().var, "SHOP_ADDR");
        assert_eq!(cfg(&[("SHOP_SEED", "maybe")]).unwrap_err().var, "SHOP_SEED");
        assert_eq!(cfg(&[("REDIS_URL", "localhost")]).unwrap_err().var, "REDIS_URL");
        assert_eq!(cfg(&[("KAFKA_BROKERS", "a")]).unwrap_err().var, "KAFKA_BROKERS");
        assert_eq!(cfg(&[("SHOP_DB_MAX_CONNECTIONS", "0")]).unwrap_err().var, "SHOP_DB_MAX_CONNECTIONS");
        let err = cfg(&[("DATABASE_URL", "mysql://root:secret@h/db")]).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        assert!(!err.to_string().contains("secret"), "never echo a URL that may hold a password");
    }

    #[test]
    fn production_needs_a_secret_key() {
        let err = cfg(&[("SHOP_ENV", "production")]).unwrap_err();
        assert_eq!(err.var, "SHOP_ENV".replace("ENV", "SECRET_KEY"));
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
        let smtp = ("SHOP_SMTP_URL", "smtp://mail.example:587");
        let c = cfg(&[("SHOP_ENV", "production"), ("SHOP_SECRET_KEY", key), smtp]).unwrap();
        assert!(c.secure_cookies, "production defaults to Secure cookies");
        assert!(!format!("{c:?}").contains(key), "the key is never printed");
        assert_eq!(cfg(&[("SHOP_SECRET_KEY", "c2hvcnQ=")]).unwrap_err().var, "SHOP_SECRET_KEY");
        assert!(!cfg(&[]).unwrap().secure_cookies);
    }

    #[test]
    fn a_shared_database_needs_the_shared_gate() {
        let pg = ("DATABASE_URL", "postgres://u@h/db");
        let err = cfg(&[pg]).unwrap().check_shared_gate().unwrap_err();
        assert_eq!(err.var, "REDIS_URL");
        assert!(cfg(&[pg, ("REDIS_URL", "redis://h")]).unwrap().check_shared_gate().is_ok());
        let mut migrate_only = cfg(&[pg]).unwrap();
        (migrate_only.web, migrate_only.roles) = (false, vec![]);
        assert!(migrate_only.check_shared_gate().is_ok(), "nothing sells: no gate needed");
    }

    #[test]
    fn limits_and_metrics_are_configurable() {
        let c = cfg(&[
            ("SHOP_ORDER_ATTEMPTS_PER_MINUTE", "3"),
            ("SHOP_WRITES_PER_MINUTE_PER_IP", "0"),
            ("SHOP_METRICS_ADDR", "off"),
        ])
        .unwrap();
        assert_eq!((c.limits.orders, c.limits.writes_per_ip, c.limits.cart_writes), (3, 0, 60));
        assert_eq!(c.metrics_addr, None);
        assert_eq!(
            cfg(&[("SHOP_ORDER_ATTEMPTS_PER_MINUTE", "0")]).unwrap_err().var,
            "SHOP_ORDER_ATTEMPTS_PER_MINUTE"
        );
        assert_eq!(cfg(&[("SHOP_METRICS_ADDR", "public")]).unwrap_err().var, "SHOP_METRICS_ADDR");
    }

    #[test]
    fn seed_can_be_switched_off() {
        assert!(!cfg(&[("SHOP_SEED", "false")]).unwrap().seed);
        assert!(!cfg(&[("SHOP_SEED", "0")]).unwrap().seed);
    }
}
