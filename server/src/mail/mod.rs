//! Outgoing mail: the worker that empties the mail outbox (`shop_store::Store::claim_mails`)
//! through a [`Mailer`]: SMTP (`SHOP_SMTP_URL`, lettre) or, without one, `.eml` files in the
//! development mailbox `<data dir>/mail/`.
//!
//! Each mail is tried until it is sent, with a doubling delay, and given up after
//! `MailSettings::attempts` tries (the row keeps the last error). A mail is marked sent after
//! the server accepted it; a worker killed between the two sends it once more on restart (SMTP
//! has no idempotency key), so every mail carries a `Message-ID` made from its outbox id, which
//! lets a mailbox recognise the copy. The file mailbox writes each mail once (an existing file
//! is the mail already written).

mod settings;
mod transport;

pub use settings::MailSettings;
pub use transport::{FileMailer, MailError, Mailer, SmtpMailer};

use shop_domain::Timestamp;
use shop_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one send may take before it counts as failed (and the claim runs out).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the worker looks for mail when it found none.
const POLL: Duration = Duration::from_millis(200);
/// Mails claimed at once.
const BATCH: i64 = 20;

/// The mailer the settings ask for.
pub fn mailer(settings: &MailSettings, data_dir: &std::path::Path) -> Result<Arc<dyn Mailer>, MailError> {
    Ok(match &settings.smtp_url {
        Some(url) => Arc::new(SmtpMailer::new(url, &settings.from)?),
        None => Arc::new(FileMailer::new(data_dir.join("mail"), &settings.from)?),
    })
}

/// Sends due mail until `stop` is cancelled.
pub async fn run(store: Store, mailer: Arc<dyn Mailer>, settings: MailSettings, stop: CancellationToken) {
    loop {
        let sent = match pass(&store, mailer.as_ref(), &settings).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "mail outbox: reading failed");
                0
            }
        };
        if sent == 0 {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        } else if stop.is_cancelled() {
            return;
        }
    }
}

/// One batch: claims due mails and tries each once. The number tried.
pub async fn pass(store: &Store, mailer: &dyn Mailer, settings: &MailSettings) -> Result<usize, shop_store::StoreError> {
    let lease = SEND_TIMEOUT.as_millis() as i64 + 5_000;
    let mails = store.claim_mails(Timestamp::now(), lease, BATCH).await?;
    for mail in &mails {
        let outcome = match tokio::time::timeout(SEND_TIMEOUT, mailer.send(mail)).await {
            Ok(r) => r,
            Err(_) => Err(MailError::Temporary(format!("no answer within {} s", SEND_TIMEOUT.as_secs()))),
        };
        let now = Timestamp::now();
        match outcome {
            Ok(()) => {
                store.mail_sent(mail.id, now).await?;
                tracing::info!(mail_id = mail.id, kind = %mail.kind, "mail sent");
            }
            Err(e) => {
                let retry = matches!(e, MailError::Temporary(_)) && mail.attempts < settings.attempts;
                let retry_at = retry.then(|| Timestamp::from_millis(now.millis() + settings.backoff(mail.attempts).as_millis() as i64));
                store.mail_failed(mail.id, &e.to_string(), retry_at, now).await?;
                if retry {
                    tracing::warn!(mail_id = mail.id, kind = %mail.kind, attempts = mail.attempts, error = %e, "mail not sent; trying again");
                } else {
                    tracing::error!(mail_id = mail.id, kind = %mail.kind, attempts = mail.attempts, error = %e, "mail given up");
                }
            }
        }
    }
    Ok(mails.len())
}
