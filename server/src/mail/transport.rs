//! Where mail goes: an SMTP server (lettre), or `.eml` files (the development mailbox).

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use shop_store::OutgoingMail;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth trying again later (no connection, a 4xx answer, a timeout).
    #[error("{0}")]
    Temporary(String),
    /// Never going to work (a malformed address, a 5xx answer).
    #[error("{0}")]
    Permanent(String),
}

/// Sends one mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
    /// Where mail goes, for the start-up line (no secrets).
    fn describe(&self) -> String;
}

/// The RFC 5322 message: plain text and HTML alternatives, a `Message-ID` from the outbox id.
fn message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox =
        mail.to.parse().map_err(|e| MailError::Permanent(format!("recipient {:?}: {e}", mail.to)))?;
    let domain = from.email.domain().to_string();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<mail-{}@{domain}>", mail.id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(mail.html.clone())),
        )
        .map_err(|e| MailError::Permanent(format!("building the message: {e}")))
}

fn sender(from: &str) -> Result<Mailbox, MailError> {
    from.parse().map_err(|e| MailError::Permanent(format!("SHOP_MAIL_FROM: {e}")))
}

/// Writes each mail as `<dir>/<outbox id>-<kind>.eml` (readable by the shop's user only).
#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: &str) -> Result<FileMailer, MailError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| MailError::Permanent(format!("creating {}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Mails carry reset links: not for other users of the machine.
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(FileMailer { dir, from: sender(from)? })
    }
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let path = self.dir.join(format!("{:08}-{}.eml", mail.id, mail.kind.to_lowercase()));
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(()); // written before (the worker stopped before marking it sent)
        }
        let bytes = message(&self.from, mail)?.formatted();
        // Written aside and renamed, so a reader never sees half a mail.
        let partial = path.with_extension("eml.part");
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(|e| MailError::Temporary(format!("writing {}: {e}", partial.display())))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| MailError::Temporary(format!("writing {}: {e}", path.display())))
    }

    fn describe(&self) -> String {
        format!("files in {} (no SHOP_SMTP_URL)", self.dir.display())
    }
}

/// Sends through an SMTP server (`SHOP_SMTP_URL`).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpMailer({})", self.host)
    }
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        // lettre's errors may quote the URL: never pass them on.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url))
            .map_err(|_| MailError::Permanent("SHOP_SMTP_URL is not a valid SMTP URL".into()))?
            .timeout(Some(super::SEND_TIMEOUT))
            .build();
        let host = url.rsplit('@').next().unwrap_or(url).split(['/', '?']).next().unwrap_or_default();
        let host = host.trim_start_matches("smtp://").trim_start_matches("smtps://").to_string();
        Ok(SmtpMailer { transport, from: sender(from)?, host })
    }
}

/// Our URL's meaning in lettre's terms: `smtp://` is STARTTLS, required (lettre's plain
/// `smtp://` sends in clear), unless `tls=none` asks for no encryption (a relay on a trusted
/// network, the tests' sink); `smtps://` is TLS from the start.
fn lettre_url(url: &str) -> String {
    if !url.starts_with("smtp://") {
        return url.to_string();
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if params.contains(&"tls=none") {
        params.retain(|p| *p != "tls=none");
    } else if !params.iter().any(|p| p.starts_with("tls=")) {
        params.push("tls=required");
    }
    if params.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", params.join("&"))
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = message(&self.from, mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                MailError::Permanent(e.to_string())
            } else {
                MailError::Temporary(e.to_string())
            }
        })
    }

    fn describe(&self) -> String {
        format!("SMTP at {}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::lettre_url;

    #[test]
    fn smtp_urls_mean_starttls_unless_told_otherwise() {
        assert_eq!(lettre_url("smtp://u:p@mail.example:587"), "smtp://u:p@mail.example:587?tls=required");
        assert_eq!(lettre_url("smtp://127.0.0.1:2525?tls=none"), "smtp://127.0.0.1:2525");
        assert_eq!(lettre_url("smtp://h:25?tls=opportunistic"), "smtp://h:25?tls=opportunistic");
        assert_eq!(lettre_url("smtp://h/ehlo?tls=none&x=1"), "smtp://h/ehlo?x=1");
        assert_eq!(lettre_url("smtps://u:p@mail.example"), "smtps://u:p@mail.example");
    }
}
