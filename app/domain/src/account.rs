//! Accounts: validated newtypes for what people type into signup, profile, address and
//! payment forms. Each parser says, in words a shopper understands, what is wrong.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem with one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// All the problems with a submitted form, in field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Forgets the problems of one field (it turned out not to be needed).
    pub fn remove(&mut self, field: &str) {
        self.0.retain(|e| e.field != field);
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_string(), message: message.into() });
    }

    /// Keeps `Ok` values; records `Err` messages against `field`.
    pub fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(field, m);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn single(field: &str, message: impl Into<String>) -> FieldErrors {
        let mut e = FieldErrors::default();
        e.add(field, message);
        e
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        write!(f, "{}", parts.join("; "))
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A lowercased, plausibly deliverable email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let s = raw.trim().to_lowercase();
        let bad = || Err("Enter an email address like name@example.com.".to_string());
        if s.is_empty() || s.len() > 254 || has_control(&s) || s.contains(char::is_whitespace) {
            return bad();
        }
        let Some((local, domain)) = s.split_once('@') else { return bad() };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return bad();
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 3–30 letters, digits or underscores; case is kept but uniqueness ignores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, String> {
        let s = raw.trim();
        let n = s.chars().count();
        if !(3..=30).contains(&n) || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("Use 3 to 30 letters, digits or underscores.".to_string());
        }
        Ok(Username(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing it cannot be used to burn CPU.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Password rules: length, and not simply the email or username.
pub fn check_password(password: &str, email: &str, username: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("Use at least {MIN_PASSWORD_CHARS} characters."));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    let lower = password.trim().to_lowercase();
    if (!email.is_empty() && lower == email.trim().to_lowercase())
        || (!username.is_empty() && lower == username.trim().to_lowercase())
    {
        return Err("Your password can't be your email or username.".to_string());
    }
    Ok(())
}

/// A person's name as they want it shown: 1–80 characters.
pub fn parse_name(raw: &str, what: &str) -> Result<String, String> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 {
        return Err(format!("Enter {what}."));
    }
    if n > 80 || has_control(s) {
        return Err(format!("{} must be at most 80 characters.", capitalise(what)));
    }
    Ok(s.to_string())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// An optional phone number: digits with `+`, spaces, dashes, dots or brackets; 6–15 digits.
pub fn parse_phone(raw: &str) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    if !allowed || !(6..=15).contains(&digits) || s.len() > 25 {
        return Err("Enter a phone number with 6 to 15 digits, e.g. +1 555 010 2030.".to_string());
    }
    Ok(Some(s.to_string()))
}

/// Free text of bounded length (street, address detail). `required` rejects empty text.
pub fn parse_text(raw: &str, what: &str, max: usize, required: bool) -> Result<String, String> {
    let s = raw.trim();
    if required && s.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if s.chars().count() > max || has_control(s) {
        return Err(format!("{} must be at most {max} characters.", capitalise(what)));
    }
    Ok(s.to_string())
}

/// A postal code: 3–10 letters, digits, spaces or dashes.
pub fn parse_zip(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_uppercase();
    let n = s.chars().count();
    if !(3..=10).contains(&n) || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
        return Err("Enter a postal code (3 to 10 letters or digits).".to_string());
    }
    Ok(s)
}

/// A card number that passed the Luhn check. Never displayed whole.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

/// Never print card numbers, even by accident in a `{:?}`.
impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(•••• {})", self.last4())
    }
}

impl CardNumber {
    pub fn parse(raw: &str) -> Result<CardNumber, String> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("Enter the 12 to 19 digits on the front of the card.".to_string());
        }
        if !luhn_ok(&digits) {
            return Err("That card number doesn't look right; check the digits.".to_string());
        }
        Ok(CardNumber(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> String {
        self.0[self.0.len() - 4..].to_string()
    }

    pub fn brand(&self) -> &'static str {
        let d = &self.0;
        let two: u32 = d[..2].parse().unwrap_or(0);
        let four: u32 = d[..4].parse().unwrap_or(0);
        if d.starts_with('4') {
            "Visa"
        } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
            "Mastercard"
        } else if two == 34 || two == 37 {
            "Amex"
        } else {
            "Card"
        }
    }
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `MM/YY`, not already expired at `now`.
pub fn parse_expiry(raw: &str, now: Timestamp) -> Result<String, String> {
    let s = raw.trim();
    let bad = || Err("Enter the expiry date as MM/YY.".to_string());
    let Some((m, y)) = s.split_once('/') else { return bad() };
    let (Ok(m), Ok(y)) = (m.trim().parse::<u32>(), y.trim().parse::<u32>()) else { return bad() };
    if !(1..=12).contains(&m) || y > 99 {
        return bad();
    }
    let (cur_y, cur_m) = now.year_month();
    let year = 2000 + y as i64;
    if (year, m) < (cur_y, cur_m) {
        return Err("This card has expired.".to_string());
    }
    Ok(format!("{m:02}/{y:02}"))
}

/// A bank account number: 6–20 digits (spaces and dashes allowed while typing).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountNumber(String);

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber(•••• {})", self.last4())
    }
}

impl AccountNumber {
    pub fn parse(raw: &str) -> Result<AccountNumber, String> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(6..=20).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("Enter the account number: 6 to 20 digits.".to_string());
        }
        Ok(AccountNumber(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> String {
        self.0[self.0.len() - 4..].to_string()
    }
}

/// Who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The signed-in user as pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    /// Whether the email address was verified (a flash-sale purchase needs it).
    #[serde(default)]
    pub email_verified: bool,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub id: i64,
    pub receiver: String,
    pub street: String,
    pub detail: String,
    pub zip: String,
    pub is_main: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentKind {
    Card,
    Bank,
}

/// A saved payment method as it may be shown: never the full number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: i64,
    pub kind: PaymentKind,
    /// "Visa", "Mastercard", or the bank's name.
    pub label: String,
    pub holder: String,
    pub last4: String,
    pub expiry: Option<String>,
}

impl PaymentMethod {
    /// "Visa •••• 4242"
    pub fn masked(&self) -> String {
        format!("{} •••• {}", self.label, self.last4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in
            ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@ex..com", "ann@.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_follow_the_rules() {
        assert!(Username::parse("ann_99").is_ok());
        for bad in ["ab", "a-b-c", "ann smith", &"x".repeat(31), "ünï"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_long_and_not_the_login() {
        assert!(check_password("correct horse", "a@b.co", "ann").is_ok());
        assert!(check_password("short", "a@b.co", "ann").unwrap_err().contains("10"));
        assert!(check_password("ann@example.com", "ann@example.com", "ann").is_err());
        assert!(check_password("Ann_the_shopper", "a@b.co", "ann_the_shopper").is_err());
        assert!(check_password(&"x".repeat(129), "a@b.co", "ann").is_err());
    }

    #[test]
    fn cards_pass_luhn_and_mask() {
        let c = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(c.last4(), "4242");
        assert_eq!(c.brand(), "Visa");
        assert!(!format!("{c:?}").contains("42424242"));
        assert_eq!(CardNumber::parse("5555555555554444").unwrap().brand(), "Mastercard");
        assert!(CardNumber::parse("4242 4242 4242 4241").is_err());
        assert!(CardNumber::parse("4242").is_err());
        assert!(CardNumber::parse("4242-4242-4242-424x").is_err());
    }

    #[test]
    fn expiry_must_be_in_the_future() {
        let now = Timestamp::from_millis(1_795_272_600_000); // 2026-11-21
        assert_eq!(parse_expiry("12/30", now).unwrap(), "12/30");
        assert_eq!(parse_expiry("11/26", now).unwrap(), "11/26");
        assert_eq!(parse_expiry("10/26", now).unwrap_err(), "This card has expired.");
        assert!(parse_expiry("13/30", now).is_err());
        assert!(parse_expiry("1230", now).is_err());
    }

    #[test]
    fn phones_zips_and_names() {
        assert_eq!(parse_phone(" ").unwrap(), None);
        assert_eq!(parse_phone("+1 (555) 010-2030").unwrap().as_deref(), Some("+1 (555) 010-2030"));
        assert!(parse_phone("call me").is_err());
        assert_eq!(parse_zip("sw1a 1aa").unwrap(), "SW1A 1AA");
        assert!(parse_zip("1").is_err());
        assert!(parse_name("  ", "your name").unwrap_err().contains("Enter your name"));
        assert!(parse_name(&"x".repeat(81), "your name").is_err());
    }

    #[test]
    fn field_errors_collect_in_order() {
        let mut e = FieldErrors::default();
        assert_eq!(
            e.check("email", Email::parse("ann@example.com")).map(|e| e.as_str().to_string()),
            Some("ann@example.com".into())
        );
        assert!(e.check("username", Username::parse("a")).is_none());
        assert_eq!(e.get("username"), Some("Use 3 to 30 letters, digits or underscores."));
        assert!(!e.is_empty());
    }
}
