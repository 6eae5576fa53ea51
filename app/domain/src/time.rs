//! Instants as Unix milliseconds, so both databases store them the same way (BIGINT).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The current wall-clock time. (Not available in the browser bundle, where the server's
    /// time is what counts.)
    #[cfg(not(target_arch = "wasm32"))]
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// Whole seconds from `self` until `later` (0 when `later` is not later).
    pub fn secs_until(self, later: Timestamp) -> i64 {
        ((later.0 - self.0).max(0) + 999) / 1000
    }

    /// The UTC calendar year and month (1–12).
    pub fn year_month(self) -> (i64, u32) {
        let (y, m, _) = civil_from_days(self.0.div_euclid(1000).div_euclid(86_400));
        (y, m)
    }

    /// `YYYY-MM-DD HH:MM UTC`, computed without a date library (civil-from-days).
    pub fn utc_string(self) -> String {
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "2 h 05 min", "4 min 10 s", "12 s": a human countdown.
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_string_matches_known_instants() {
        assert_eq!(Timestamp::from_millis(0).utc_string(), "1970-01-01 00:00 UTC");
        // 2026-11-21 14:50:00 UTC
        assert_eq!(Timestamp::from_millis(1_795_272_600_000).utc_string(), "2026-11-21 14:50 UTC");
        assert_eq!(Timestamp::from_millis(951_782_400_000).utc_string(), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn countdowns_read_naturally() {
        assert_eq!(human_duration(12), "12 s");
        assert_eq!(human_duration(250), "4 min 10 s");
        assert_eq!(human_duration(7500), "2 h 05 min");
        assert_eq!(human_duration(200_000), "2 d 7 h");
        assert_eq!(Timestamp::from_millis(0).secs_until(Timestamp::from_millis(1001)), 2);
    }
}
