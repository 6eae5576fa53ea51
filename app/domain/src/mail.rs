//! What the shop writes to its customers: each mail composed from plain data, with a plain-text
//! and an HTML part that say the same thing. Sending is the server's (an outbox and a worker);
//! this module only decides the words, and escapes everything that came from a user.

use crate::{Money, OrderStatus};
use serde::{Deserialize, Serialize};

/// Why a mail is sent (stored with it; the admin and the logs name mails by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailKind {
    PasswordReset,
    VerifyEmail,
    Order,
    Return,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "PASSWORD_RESET",
            MailKind::VerifyEmail => "VERIFY_EMAIL",
            MailKind::Order => "ORDER",
            MailKind::Return => "RETURN",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        [MailKind::PasswordReset, MailKind::VerifyEmail, MailKind::Order, MailKind::Return].into_iter().find(|k| k.as_str() == s)
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

impl Sender<'_> {
    /// "Verify your email address": the code, and a link that does the same.
    pub fn verify_email(&self, to: &str, name: &str, code: &str, token: &str, minutes: i64) -> Mail {
        let link = self.link(&format!("/verify-email?token={token}"));
        self.compose(
            MailKind::VerifyEmail,
            to,
            &format!("Your {} code: {code}", self.shop),
            Body {
                greeting: &format!("Hello {name},"),
                paragraphs: &[
                    format!("Your code is {code}. Enter it on your account page to verify this address; it works for {minutes} minutes."),
                    "Or use the link below. Flash sales need a verified address.".to_string(),
                ],
                action: Some(("Verify my email address", &link)),
                closing: "If you did not create an account, ignore this mail.",
            },
        )
    }
}

/// What an order mail tells about the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMail {
    pub order_id: i64,
    pub status: OrderStatus,
    /// (product name, quantity, unit price), as ordered.
    pub lines: Vec<(String, i64, Money)>,
    pub total: Money,
    /// Why it failed or who cancelled it.
    pub reason: Option<String>,
    /// Whether a payment was taken that is being refunded.
    pub refund: bool,
}

impl Sender<'_> {
    /// The mail for an order's new status: placed, paid, shipped, delivered, failed or
    /// cancelled, with its lines and a link to its page.
    pub fn order_update(&self, to: &str, name: &str, order: &OrderMail) -> Mail {
        let id = order.order_id;
        let (subject, news) = match order.status {
            OrderStatus::Pending => (format!("Order #{id} placed"), "We have your order and are taking the payment.".to_string()),
            OrderStatus::Paid => (format!("Order #{id} paid"), "Your payment went through; we are packing your order.".to_string()),
            OrderStatus::Shipping => (format!("Order #{id} shipped"), "Your parcel is on its way.".to_string()),
            OrderStatus::Delivered => (format!("Order #{id} delivered"), "Your parcel was delivered. Enjoy!".to_string()),
            OrderStatus::Failed => (
                format!("Order #{id} could not be completed"),
                format!("We could not complete your order: {}.", order.reason.as_deref().unwrap_or("something went wrong").trim_end_matches('.')),
            ),
            OrderStatus::Cancelled => (
                format!("Order #{id} cancelled"),
                format!("Your order was cancelled: {}.", order.reason.as_deref().unwrap_or("before shipping").trim_end_matches('.')),
            ),
        };
        let mut paragraphs = vec![news];
        let lines: Vec<String> =
            order.lines.iter().map(|(n, q, p)| format!("{q} × {n} at {p}")).collect();
        paragraphs.push(format!("{} Total: {}.", lines.join("; "), order.total));
        if order.refund {
            paragraphs.push(format!("The {} you paid is being refunded to your payment method.", order.total));
        }
        let link = self.link(&format!("/orders/{id}"));
        self.compose(
            MailKind::Order,
            to,
            &subject,
            Body {
                greeting: &format!("Hello {name},"),
                paragraphs: &paragraphs,
                action: Some(("See your order", &link)),
                closing: "Thank you for shopping with us.",
            },
        )
    }
}

/// What a return mail tells about the return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnMail {
    pub order_id: i64,
    pub status: crate::returns::ReturnStatus,
    /// (product name, units returned).
    pub lines: Vec<(String, i64)>,
    pub amount: Money,
    /// Why staff refused it.
    pub note: Option<String>,
    /// The payment method the refund goes to (masked).
    pub payment_label: String,
}

impl Sender<'_> {
    /// The mail for each step of a return: requested, approved, refused, refunded.
    pub fn return_update(&self, to: &str, name: &str, r: &ReturnMail) -> Mail {
        use crate::returns::ReturnStatus as R;
        let id = r.order_id;
        let (subject, news) = match r.status {
            R::Requested => (
                format!("Return requested for order #{id}"),
                "We have your return request and will answer it soon. Keep the items until then.".to_string(),
            ),
            R::Approved => (
                format!("Return approved for order #{id}"),
                format!("We approved your return: {} is being refunded to {}.", r.amount, r.payment_label),
            ),
            R::Refused => (
                format!("Return refused for order #{id}"),
                format!(
                    "We could not accept your return: {}.",
                    r.note.as_deref().unwrap_or("it does not meet our return conditions").trim_end_matches('.')
                ),
            ),
            R::Refunded => (
                format!("Refund sent for order #{id}"),
                format!("We refunded {} to {} for your return.", r.amount, r.payment_label),
            ),
        };
        let items: Vec<String> = r.lines.iter().map(|(n, q)| format!("{q} × {n}")).collect();
        let paragraphs = vec![news, format!("Returned: {}.", items.join("; "))];
        let link = self.link(&format!("/orders/{id}"));
        self.compose(
            MailKind::Return,
            to,
            &subject,
            Body {
                greeting: &format!("Hello {name},"),
                paragraphs: &paragraphs,
                action: Some(("See your order", &link)),
                closing: "Thank you for shopping with us.",
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
    fn return_mails_say_what_happened_and_escape_the_note() {
        use crate::returns::ReturnStatus;
        let mut r = ReturnMail {
            order_id: 5,
            status: ReturnStatus::Refused,
            lines: vec![("Mug".to_string(), 1)],
            amount: Money::from_minor(1_250),
            note: Some("<worn> & washed.".into()),
            payment_label: "Visa •••• 4242".into(),
        };
        let m = SHOP.return_update("ann@example.com", "Ann", &r);
        assert_eq!((m.kind, m.subject.as_str()), (MailKind::Return, "Return refused for order #5"));
        assert!(m.text.contains("<worn> & washed") && m.html.contains("&lt;worn&gt; &amp; washed"));
        assert!(!m.html.contains("<worn>") && m.text.contains("1 × Mug"));
        r.status = ReturnStatus::Refunded;
        let m = SHOP.return_update("ann@example.com", "Ann", &r);
        assert!(m.text.contains("We refunded $12.50 to Visa •••• 4242"), "{}", m.text);
        assert!(m.text.contains("https://shop.example/orders/5") && !m.text.contains("worn"));
    }

    #[test]
    fn order_mails_name_the_status_lines_and_refund() {
        let order = OrderMail {
            order_id: 12,
            status: OrderStatus::Failed,
            lines: vec![("Lamp <b>".to_string(), 2, Money::from_minor(4_900))],
            total: Money::from_minor(9_800),
            reason: Some("Delivery could not be booked: no carrier.".into()),
            refund: true,
        };
        let m = SHOP.order_update("ann@example.com", "Ann", &order);
        assert_eq!(m.subject, "Order #12 could not be completed");
        assert!(m.text.contains("We could not complete your order: Delivery could not be booked: no carrier."), "{}", m.text);
        assert!(m.text.contains("2 × Lamp <b> at $49.00") && m.html.contains("2 × Lamp &lt;b&gt; at $49.00"), "{}", m.text);
        assert!(m.text.contains("being refunded"));
        assert!(m.text.contains("https://shop.example/orders/12"));
        let placed = SHOP.order_update("ann@example.com", "Ann", &OrderMail { status: OrderStatus::Pending, refund: false, reason: None, ..order });
        assert_eq!(placed.subject, "Order #12 placed");
        assert!(!placed.text.contains("refunded"));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [MailKind::PasswordReset, MailKind::VerifyEmail, MailKind::Order] {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(escape("a\"b'c"), "a&quot;b&#39;c");
    }
}
