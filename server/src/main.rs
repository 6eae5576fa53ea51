//! `shop`: the flash-sale store.
//!
//! ```text
//! shop            run everything (web tier + background work) — the default
//! shop serve      run the web tier only (needs KAFKA_BROKERS: workers run elsewhere)
//! shop worker K…  run background work only: relay | orders | payment | delivery | stock | mail | all
//! shop migrate    apply database migrations and exit
//! shop admin create --email E --username U [--name N] --password-stdin
//! shop admin promote --email E
//! shop help       this text
//! ```
//! Configuration comes from the environment (see `.env.example`).

use anyhow::Context;

/// mimalloc instead of glibc malloc: malloc/free were about a tenth of the buy path's CPU
/// profile (docs/BENCHMARKS.md has the before and after).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use shop::config::Config;
use std::process::ExitCode;

const USAGE: &str = "usage: shop [serve | worker KIND… | migrate | admin … | help]\n\
  (no command)  run the whole store: web tier and background work\n\
  serve         run the web tier only (needs KAFKA_BROKERS)\n\
  worker KIND…  run background work only (needs KAFKA_BROKERS); KIND is one or more of\n\
                relay, orders (with the reconciler), payment, delivery, stock, mail, all\n\
  migrate       apply database migrations and exit\n\
  admin create --email E --username U [--name N] --password-stdin\n\
                create an admin account (password read from standard input)\n\
  admin promote --email E\n\
                give an existing account the admin role\n\
configuration: environment variables, see .env.example";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("all");
    if matches!(command, "help" | "-h" | "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let valid = match command {
        "all" | "serve" | "migrate" => args.len() <= 1,
        "admin" => true,
        "worker" => args.len() >= 2 && args[1..].iter().all(|k| shop::saga::Role::parse_worker(k).is_some()),
        _ => false,
    };
    if !valid {
        eprintln!("shop: unknown command '{}'\n{USAGE}", args.join(" "));
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(mut c) => {
            match command {
                "serve" => c.roles.clear(),
                "worker" => {
                    c.web = false;
                    let mut roles: Vec<shop::saga::Role> = args[1..]
                        .iter()
                        .flat_map(|k| shop::saga::Role::parse_worker(k).unwrap_or_default())
                        .collect();
                    roles.sort_by_key(|r| shop::saga::Role::ALL.iter().position(|x| x == r));
                    roles.dedup();
                    c.roles = roles;
                }
                _ => {}
            }
            if matches!(command, "serve" | "worker") && c.kafka_brokers.is_none() {
                eprintln!(
                    "shop: configuration error: KAFKA_BROKERS: 'shop {command}' splits the store across processes, \
                     which talk through Kafka; set KAFKA_BROKERS, or run plain 'shop' to run everything in one process"
                );
                return ExitCode::from(2);
            }
            if let Err(e) = c.check_shared_gate() {
                eprintln!("shop: configuration error: {e}");
                return ExitCode::from(2);
            }
            c
        }
        Err(e) => {
            eprintln!("shop: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    shop::telemetry::init(config.log_format);
    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("shop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: &str, config: Config) -> anyhow::Result<()> {
    if command == "admin" {
        return admin_command(&args_after_command(), config).await;
    }
    if command == "migrate" {
        let store = shop_store::Store::connect(&config.database_url, 1).await.context("connecting")?;
        store.migrate().await.context("migrating")?;
        println!("migrations applied ({})", store.backend().name());
        return Ok(());
    }
    let web = config.web;
    let roles = config.roles.clone();
    // Signal handlers first: a SIGTERM right after the announcement still stops gracefully.
    let signal = shop::shutdown_signal();
    let running = shop::start(config).await?;
    if web {
        println!("Flashmart is open at http://{}", running.addr);
    } else {
        println!("Flashmart workers running: {roles:?}");
    }
    running.run_until(signal).await.context("server")?;
    Ok(())
}

fn args_after_command() -> Vec<String> {
    std::env::args().skip(2).collect()
}

/// `--flag value` pairs and bare flags.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

async fn admin_command(args: &[String], config: Config) -> anyhow::Result<()> {
    let store = shop_store::Store::connect(&config.database_url, 2).await.context("connecting")?;
    store.migrate().await.context("migrating")?;
    match args.first().map(String::as_str) {
        Some("create") => {
            let email = flag(args, "--email").context("--email is required")?;
            let username = flag(args, "--username").context("--username is required")?;
            let name = flag(args, "--name").unwrap_or_else(|| "Shop Admin".to_string());
            anyhow::ensure!(
                args.iter().any(|a| a == "--password-stdin"),
                "--password-stdin is required (passwords are never taken from arguments)"
            );
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let id = shop::admin::create_admin(&store, &email, &username, &name, password).await?;
            println!("admin account {id} created for {email}");
        }
        Some("promote") => {
            let email = flag(args, "--email").context("--email is required")?;
            let id = shop::admin::promote(&store, &email).await?;
            println!("account {id} ({email}) is now an admin");
        }
        _ => anyhow::bail!("usage: shop admin create --email E --username U [--name N] --password-stdin | shop admin promote --email E"),
    }
    store.close().await;
    Ok(())
}
