//! What staff type into admin forms: prices, counts, dates and times. Every parser says in
//! words what is wrong. Dates and times are UTC, the shop's one clock.

use crate::{Money, Timestamp};

/// The largest price a form accepts: $1,000,000.00.
pub const MAX_PRICE_MINOR: i64 = 100_000_000;
/// The largest stock or sale quantity a form accepts.
pub const MAX_UNITS: i64 = 1_000_000;

/// `12`, `12.5`, `12.50`, `$1,234.50` → cents. Never negative, never a float.
pub fn parse_money(raw: &str, what: &str) -> Result<Money, String> {
    let bad = || format!("Enter {what} like 12.50 (0 or more).");
    let raw = raw.trim().trim_start_matches('$');
    if raw.is_empty() {
        return Err(format!("Enter {what}."));
    }
    // A comma only between thousands ("1,250.00"): "1,00" is one euro-style dollar, not a
    // hundred, and is refused rather than guessed.
    let whole = raw.split('.').next().unwrap_or("");
    if raw.contains(',') && !thousands_grouped(whole) {
        return Err(format!(
            "Enter {what} with a dot before the cents, like 12.50 (a comma only between thousands, like 1,250.00)."
        ));
    }
    let s = raw.replace(',', "");
    let (units, cents) = match s.split_once('.') {
        Some((u, c)) => (u, c),
        None => (s.as_str(), ""),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let dot = s.contains('.');
    if units.is_empty()
        || units.len() > 9
        || !digits(units)
        || cents.len() > 2
        || !digits(cents)
        || (dot && cents.is_empty())
    {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let cents: i64 = match cents.len() {
        0 => 0,
        1 => cents.parse::<i64>().map_err(|_| bad())? * 10,
        _ => cents.parse().map_err(|_| bad())?,
    };
    let minor = units * 100 + cents;
    if minor > MAX_PRICE_MINOR {
        return Err(format!("{} can be at most {}.", capitalise(what), Money::from_minor(MAX_PRICE_MINOR)));
    }
    Ok(Money::from_minor(minor))
}

/// `1,234,567`: digit groups of three after the first (of one to three), nothing else.
fn thousands_grouped(whole: &str) -> bool {
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or("");
    let digits = |g: &str| g.chars().all(|c| c.is_ascii_digit());
    (1..=3).contains(&first.len()) && digits(first) && groups.all(|g| g.len() == 3 && digits(g))
}

/// A whole number in `min..=max`.
pub fn parse_units(raw: &str, what: &str, min: i64, max: i64) -> Result<i64, String> {
    let s = raw.trim().replace(',', "");
    if s.is_empty() {
        return Err(format!("Enter {what}."));
    }
    match s.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(n) if n < min => Err(format!("{} must be at least {min}.", capitalise(what))),
        Ok(_) => Err(format!("{} can be at most {max}.", capitalise(what))),
        Err(_) => Err(format!("Enter {what} as a whole number.")),
    }
}

/// A positive id picked from a list (e.g. the product of a sale).
pub fn parse_choice(raw: &str, message: &str) -> Result<i64, String> {
    raw.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| message.to_string())
}

/// `YYYY-MM-DDTHH:MM` (what `<input type="datetime-local">` sends; seconds optional, a space
/// instead of `T` accepted), read as UTC.
pub fn parse_datetime(raw: &str, what: &str) -> Result<Timestamp, String> {
    let bad = || format!("Enter {what} as YYYY-MM-DD HH:MM (UTC).");
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("Enter {what}."));
    }
    let (date, time) = s.split_once(['T', ' ']).ok_or_else(bad)?;
    let day = parse_day(date).ok_or_else(bad)?;
    let mut parts = time.trim_end_matches('Z').split(':');
    let mut next = |max: i64| -> Option<i64> {
        let p = parts.next()?;
        (p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    let (h, m) = (next(23).ok_or_else(bad)?, next(59).ok_or_else(bad)?);
    let sec = match parts.next() {
        None => 0,
        Some(p) => {
            p.split('.').next().and_then(|p| p.parse::<i64>().ok()).filter(|v| *v <= 59).ok_or_else(bad)?
        }
    };
    Ok(Timestamp::from_millis(((day * 24 + h) * 60 + m) * 60_000 + sec * 1000))
}

/// `YYYY-MM-DD` (an `<input type="date">`), the start of that day in UTC.
pub fn parse_date(raw: &str, what: &str) -> Result<Timestamp, String> {
    parse_day(raw.trim())
        .map(|day| Timestamp::from_millis(day * 86_400_000))
        .ok_or_else(|| format!("Enter {what} as YYYY-MM-DD."))
}

/// The value of a `datetime-local` input for an instant: `YYYY-MM-DDTHH:MM` (UTC).
pub fn datetime_value(t: Timestamp) -> String {
    let s = t.utc_string();
    format!("{}T{}", &s[..10], &s[11..16])
}

/// The value of a `date` input: `YYYY-MM-DD` (UTC).
pub fn date_value(t: Timestamp) -> String {
    t.utc_string()[..10].to_string()
}

/// The start of the UTC day containing `t`.
pub fn start_of_day(t: Timestamp) -> Timestamp {
    Timestamp::from_millis(t.millis().div_euclid(86_400_000) * 86_400_000)
}

/// Days since 1970-01-01 for `YYYY-MM-DD`, when it is a real date.
fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-from-civil (the inverse of `Timestamp::utc_string`'s algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_read_to_the_cent() {
        assert_eq!(parse_money("12", "a price"), Ok(Money::from_minor(1200)));
        assert_eq!(parse_money(" 12.5 ", "a price"), Ok(Money::from_minor(1250)));
        assert_eq!(parse_money("$1,234.05", "a price"), Ok(Money::from_minor(123_405)));
        assert_eq!(parse_money("0", "a price"), Ok(Money::ZERO));
        assert_eq!(parse_money("", "a price"), Err("Enter a price.".into()));
        for bad in ["-1", "1.234", "abc", "1e3", ".5", "12.", "1 2"] {
            assert!(parse_money(bad, "a price").is_err(), "{bad}");
        }
        assert!(parse_money("1000000.01", "a price").unwrap_err().contains("at most $1,000,000.00"));
    }

    #[test]
    fn a_comma_is_only_a_thousands_separator() {
        assert_eq!(parse_money("1,000", "a price"), Ok(Money::from_minor(100_000)));
        assert_eq!(parse_money("12,345.60", "a price"), Ok(Money::from_minor(1_234_560)));
        for ambiguous in ["1,00", "12,5", "1,0000", ",100", "1,00.50", "1.00,5"] {
            let err = parse_money(ambiguous, "the price").unwrap_err();
            assert!(err.contains("dot before the cents") || err.contains("like 12.50"), "{ambiguous}: {err}");
        }
        assert!(parse_money("1,00", "the price").unwrap_err().contains("dot before the cents"));
    }

    #[test]
    fn units_are_whole_and_bounded() {
        assert_eq!(parse_units("1,000", "the stock", 0, MAX_UNITS), Ok(1000));
        assert_eq!(parse_units("-1", "the stock", 0, 10), Err("The stock must be at least 0.".into()));
        assert_eq!(parse_units("11", "the stock", 0, 10), Err("The stock can be at most 10.".into()));
        assert_eq!(parse_units("2.5", "the stock", 0, 10), Err("Enter the stock as a whole number.".into()));
    }

    #[test]
    fn datetimes_round_trip_as_utc() {
        let t = parse_datetime("2026-11-21T14:50", "the start").unwrap();
        assert_eq!(t, Timestamp::from_millis(1_795_272_600_000));
        assert_eq!(datetime_value(t), "2026-11-21T14:50");
        assert_eq!(parse_datetime("2026-11-21 14:50:30", "the start").unwrap(), t.plus_secs(30));
        assert_eq!(parse_datetime("2000-02-29T00:00", "x").unwrap().utc_string(), "2000-02-29 00:00 UTC");
        for bad in ["2026-02-30T10:00", "2026-11-21", "2026-11-21T24:00", "21/11/2026 10:00", "2026-1-2T1:00"]
        {
            assert!(parse_datetime(bad, "the start").is_err(), "{bad}");
        }
        assert_eq!(parse_datetime(" ", "the start"), Err("Enter the start.".into()));
    }

    #[test]
    fn dates_are_utc_days() {
        let d = parse_date("2026-11-21", "the date").unwrap();
        assert_eq!(d.utc_string(), "2026-11-21 00:00 UTC");
        assert_eq!(date_value(d.plus_secs(3600)), "2026-11-21");
        assert_eq!(start_of_day(d.plus_secs(86_399)), d);
        assert!(parse_date("2026-13-01", "the date").is_err());
    }
}
