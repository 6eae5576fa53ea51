//! Email verification: a 6-digit code (and a link carrying a token) valid [`CODE_MINUTES`],
//! [`MAX_TRIES`] wrong codes per code, a new code at most once a [`RESEND_GAP_SECS`] and
//! [`SENDS_PER_HOUR`] an hour. Plain rules; the store applies them in its transactions.

use crate::Timestamp;

pub const CODE_MINUTES: i64 = 5;
pub const MAX_TRIES: i64 = 5;
pub const RESEND_GAP_SECS: i64 = 60;
pub const SENDS_PER_HOUR: i64 = 5;

/// What entering a code (or following a link) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Verified,
    Wrong { tries_left: i64 },
    Expired,
    TooManyTries,
    /// No code was sent (or it was used already).
    NoCode,
}

impl Verify {
    /// The latest code's state, given a wrong or right guess: what the buyer is told.
    pub fn of(expires_at: Timestamp, tries: i64, right: bool, now: Timestamp) -> Verify {
        if now >= expires_at {
            Verify::Expired
        } else if tries >= MAX_TRIES {
            Verify::TooManyTries
        } else if right {
            Verify::Verified
        } else {
            Verify::Wrong { tries_left: MAX_TRIES - tries - 1 }
        }
    }

    pub fn message(self) -> String {
        match self {
            Verify::Verified => "Email address verified.".into(),
            Verify::Wrong { tries_left: 0 } => "That code is not right, and it was the last try: send yourself a new code.".into(),
            Verify::Wrong { tries_left } => format!("That code is not right ({tries_left} tries left)."),
            Verify::Expired => "This code has expired: send yourself a new one.".into(),
            Verify::TooManyTries => "Too many wrong codes: send yourself a new one.".into(),
            Verify::NoCode => "There is no code to check: send yourself one first.".into(),
        }
    }
}

/// Whether another code may be sent now, given when the last ones were sent (any order):
/// `Err(seconds to wait)` otherwise.
pub fn may_send(sent: &[Timestamp], now: Timestamp) -> Result<(), i64> {
    let hour_ago = now.millis() - 3_600_000;
    let mut recent: Vec<i64> = sent.iter().map(|t| t.millis()).filter(|t| *t > hour_ago).collect();
    recent.sort_unstable();
    if let Some(last) = recent.last() {
        let gap = last + RESEND_GAP_SECS * 1000 - now.millis();
        if gap > 0 {
            return Err((gap + 999) / 1000);
        }
    }
    if recent.len() as i64 >= SENDS_PER_HOUR {
        return Err(((recent[0] + 3_600_000 - now.millis() + 999) / 1000).max(1));
    }
    Ok(())
}

/// A code as typed: 6 digits, spaces and dashes ignored.
pub fn parse_code(raw: &str) -> Result<String, String> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code)
    } else {
        Err("Enter the 6 digits from the mail.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(10_000_000);

    #[test]
    fn a_code_works_for_five_minutes_and_five_tries() {
        let expires = NOW.plus_secs(CODE_MINUTES * 60);
        assert_eq!(Verify::of(expires, 0, true, NOW), Verify::Verified);
        assert_eq!(Verify::of(expires, 0, false, NOW), Verify::Wrong { tries_left: 4 });
        assert_eq!(Verify::of(expires, 4, false, NOW), Verify::Wrong { tries_left: 0 });
        assert_eq!(Verify::of(expires, 5, true, NOW), Verify::TooManyTries, "even the right code");
        assert_eq!(Verify::of(expires, 0, true, expires), Verify::Expired);
        assert!(Verify::Wrong { tries_left: 2 }.message().contains("2 tries left"));
    }

    #[test]
    fn codes_are_sent_at_most_once_a_minute_and_five_an_hour() {
        assert_eq!(may_send(&[], NOW), Ok(()));
        assert_eq!(may_send(&[NOW.plus_secs(-20)], NOW), Err(40));
        assert_eq!(may_send(&[NOW.plus_secs(-60)], NOW), Ok(()));
        let five: Vec<Timestamp> = (1..=5).map(|m| NOW.plus_secs(-600 * m)).collect();
        assert_eq!(may_send(&five, NOW), Err(600), "the oldest of the hour's five leaves the hour in 10 min");
        assert_eq!(may_send(&five[..4], NOW), Ok(()));
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(parse_code(" 123 456 "), Ok("123456".into()));
        assert_eq!(parse_code("123-456"), Ok("123456".into()));
        assert!(parse_code("12345").is_err());
        assert!(parse_code("12345a").is_err());
    }
}
