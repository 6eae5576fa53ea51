//! What the shop writes to its customers: each mail composed from plain data, with a plain-text
//! and an HTML part that say the same thing. Sending is the server's (an outbox and a worker);
//! this module only decides the words, and escapes everything that came from a user.

use serde::{Deserialize, Serialize};

/// Why a mail is sent (stored with it; the admin and the logs name mails by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailKind {
    PasswordReset,
    VerifyEmail,
    Order,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "PASSWORD_RESET",
            MailKind::VerifyEmail => "VERIFY_EMAIL",
            MailKind::Order => "ORDER",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        [MailKind::PasswordReset, MailKind::VerifyEmail, MailKind::Order].into_iter().find(|k| k.as_str() == s)
    }
}

/// One mail, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub kind: MailKind,
    /// The recipient's address.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Who writes: the shop's name and where its pages are (`SHOP_PUBLIC_URL`, no trailing `/`).
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub shop: &'a str,
    pub public_url: &'a str,
}

impl Sender<'_> {
    fn link(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_url.trim_end_matches('/'))
    }

    /// A mail of paragraphs and, optionally, one button-like link, in both parts.
    fn compose(&self, kind: MailKind, to: &str, subject: &str, body: Body<'_>) -> Mail {
        let Body { greeting, paragraphs, action, closing } = body;
        let mut text = format!("{greeting}\n\n");
        let mut html = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"font-family:sans-serif;line-height:1.5;color:#1d1d1f\"><p>{}</p>",
            escape(subject),
            escape(greeting)
        );
        for p in paragraphs {
            text.push_str(p);
            text.push_str("\n\n");
            html.push_str(&format!("<p>{}</p>", escape(p)));
        }
        if let Some((label, url)) = action {
            text.push_str(&format!("{label}: {url}\n\n"));
            html.push_str(&format!(
                "<p><a href=\"{}\" style=\"display:inline-block;padding:8px 16px;background:#0b57d0;color:#fff;text-decoration:none;border-radius:6px\">{}</a></p>\
                 <p style=\"font-size:small;color:#555\">{}</p>",
                escape(url),
                escape(label),
                escape(url)
            ));
        }
        text.push_str(&format!("{closing}\n\n— {}\n", self.shop));
        html.push_str(&format!("<p>{}</p><p>— {}</p></body></html>", escape(closing), escape(self.shop)));
        Mail { kind, to: to.to_string(), subject: subject.to_string(), text, html }
    }

    /// "Reset your password": a single-use link valid `minutes`.
    pub fn password_reset(&self, to: &str, name: &str, token: &str, minutes: i64) -> Mail {
        let link = self.link(&format!("/reset-password?token={token}"));
        self.compose(
            MailKind::PasswordReset,
            to,
            &format!("Reset your {} password", self.shop),
            Body {
                greeting: &format!("Hello {name},"),
                paragraphs: &[
                    "Someone (we hope you) asked to reset the password of your account.".to_string(),
                    format!("The link below works once, for {minutes} minutes. Choosing a new password signs you out everywhere else."),
                ],
                action: Some(("Choose a new password", &link)),
                closing: "If you did not ask for this, ignore this mail: your password stays as it is.",
            },
        )
    }
}

/// What a mail says, in order.
struct Body<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    /// (label, URL) of the one thing to do.
    action: Option<(&'a str, &'a str)>,
    closing: &'a str,
}

/// Text for an HTML text node or a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: Sender<'static> = Sender { shop: "Flashmart", public_url: "https://shop.example/" };

    #[test]
    fn a_reset_mail_carries_its_link_in_both_parts_and_escapes_the_name() {
        let m = SHOP.password_reset("ann@example.com", "<Ann & Co>", "tok_en-1", 30);
        assert_eq!(m.kind, MailKind::PasswordReset);
        assert_eq!(m.to, "ann@example.com");
        assert_eq!(m.subject, "Reset your Flashmart password");
        let link = "https://shop.example/reset-password?token=tok_en-1";
        assert!(m.text.contains(link) && m.html.contains(link), "{m:?}");
        assert!(m.text.contains("Hello <Ann & Co>,"));
        assert!(m.html.contains("Hello &lt;Ann &amp; Co&gt;,") && !m.html.contains("<Ann"));
        assert!(m.text.contains("30 minutes") && m.html.contains("30 minutes"));
        assert!(m.text.ends_with("— Flashmart\n"));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [MailKind::PasswordReset, MailKind::VerifyEmail, MailKind::Order] {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(escape("a\"b'c"), "a&quot;b&#39;c");
    }
}
