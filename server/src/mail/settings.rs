//! Mail settings: `SHOP_SMTP_URL`, `SHOP_MAIL_FROM`, `SHOP_PUBLIC_URL`, `SHOP_MAIL_RETRY_MS`.

use crate::config::{bad, ConfigError, RunMode};
use std::time::Duration;

#[derive(Clone)]
pub struct MailSettings {
    /// `SHOP_SMTP_URL`: `smtp://user:pass@host:587` (STARTTLS), `smtps://…:465` (TLS), or
    /// `smtp://host:25?tls=none` for a relay on a trusted network. Without it every mail is
    /// written as an `.eml` file into `<data dir>/mail/` (the development mailbox).
    pub smtp_url: Option<String>,
    /// `SHOP_MAIL_FROM`: the sender, e.g. `Flashmart <shop@example.com>`.
    pub from: String,
    /// `SHOP_PUBLIC_URL`: where links in mails point; `None`: the address the web tier bound
    /// (`http://<address>`).
    pub public_url: Option<String>,
    /// `SHOP_MAIL_RETRY_MS`: the first retry's delay (doubling, at most an hour).
    pub retry: Duration,
    /// Tries before a mail is given up.
    pub attempts: i64,
}

/// Never print the SMTP URL: it may hold a password.
impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl MailSettings {
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        mode: RunMode,
    ) -> Result<MailSettings, ConfigError> {
        let smtp_url = match get("SHOP_SMTP_URL") {
            Some(u) if !(u.starts_with("smtp://") || u.starts_with("smtps://")) => {
                // The value is not shown: it may hold a password.
                return Err(bad("SHOP_SMTP_URL", "must start with smtp:// or smtps://"));
            }
            other => other,
        };
        if mode == RunMode::Production && smtp_url.is_none() {
            return Err(bad("SHOP_SMTP_URL", "required when SHOP_ENV=production (mail must reach customers)"));
        }
        let from = get("SHOP_MAIL_FROM").unwrap_or_else(|| "Flashmart <shop@flashmart.local>".to_string());
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad("SHOP_MAIL_FROM", format!("'{from}' is not an address like Flashmart <shop@example.com>")));
        }
        let public_url = match get("SHOP_PUBLIC_URL") {
            None => None,
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => Some(u.trim_end_matches('/').to_string()),
            Some(u) => return Err(bad("SHOP_PUBLIC_URL", format!("'{u}' must start with http:// or https://"))),
        };
        let retry = match get("SHOP_MAIL_RETRY_MS") {
            None => Duration::from_secs(5),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=3_600_000).contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| bad("SHOP_MAIL_RETRY_MS", format!("'{v}' is not a number from 1 to 3600000")))?,
        };
        Ok(MailSettings { smtp_url, from, public_url, retry, attempts: 8 })
    }

    /// The wait before try `attempts + 1`: the first retry's delay, doubling, at most an hour.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
        self.retry.saturating_mul(2u32.saturating_pow(doublings)).min(Duration::from_secs(3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)], mode: RunMode) -> Result<MailSettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MailSettings::from_lookup(|k| map.get(k).cloned(), mode)
    }

    #[test]
    fn development_writes_files_and_production_needs_smtp() {
        let s = settings(&[], RunMode::Development).unwrap();
        assert!(s.smtp_url.is_none());
        assert_eq!(s.public_url, None, "the address the web tier binds");
        assert_eq!(settings(&[], RunMode::Production).unwrap_err().var, "SHOP_SMTP_URL");
        let url = "smtp://user:secret@mail.example:587";
        let s = settings(&[("SHOP_SMTP_URL", url)], RunMode::Production).unwrap();
        assert!(!format!("{s:?}").contains("secret"), "the password never reaches a log");
    }

    #[test]
    fn bad_values_are_named_without_secrets() {
        let e = settings(&[("SHOP_SMTP_URL", "http://user:secret@x")], RunMode::Development).unwrap_err();
        assert!(e.var == "SHOP_SMTP_URL" && !e.to_string().contains("secret"), "{e}");
        assert_eq!(settings(&[("SHOP_MAIL_FROM", "nobody")], RunMode::Development).unwrap_err().var, "SHOP_MAIL_FROM");
        assert_eq!(settings(&[("SHOP_PUBLIC_URL", "shop.example")], RunMode::Development).unwrap_err().var, "SHOP_PUBLIC_URL");
        let s = settings(&[("SHOP_PUBLIC_URL", "https://shop.example/")], RunMode::Development).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://shop.example"));
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        let s = settings(&[("SHOP_MAIL_RETRY_MS", "1000")], RunMode::Development).unwrap();
        assert_eq!(s.backoff(1), Duration::from_secs(1));
        assert_eq!(s.backoff(3), Duration::from_secs(4));
        assert_eq!(s.backoff(40), Duration::from_secs(3600));
    }
}
