//! A live sale as staff watch it: what the stock gate decided (accepted, sold out, over the
//! limit), what the shop turned away while too busy (shed), and units taken per second.
//!
//! The gate counts its own decisions (one owner: the count can never disagree with what it
//! decided); this module turns the counts into what the admin pages show, a version string the
//! live stream compares, and the chart's geometry (pure, so it is tested here, not in a browser).

use serde::{Deserialize, Serialize};

/// Seconds the chart covers, up to now.
pub const WINDOW_SECS: i64 = 60;
/// The chart's drawing box (SVG user units).
pub const CHART_WIDTH: i64 = 600;
pub const CHART_HEIGHT: i64 = 160;

/// One second in which the gate accepted purchases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    /// Unix time, seconds.
    pub at: i64,
    /// Units taken in that second.
    pub units: i64,
    /// Units left after the last purchase of that second.
    pub remaining: i64,
}

/// The gate's decisions about one sale since it loaded the sale (a restart of an embedded
/// shop starts them again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Purchases accepted, and the units they took.
    pub accepted: i64,
    pub units: i64,
    pub sold_out: i64,
    pub over_limit: i64,
    /// Purchases the whole shop turned away while too busy (before reading which sale they
    /// were for), across every web process.
    pub shed: i64,
    /// Seconds of the last [`WINDOW_SECS`] with an accepted purchase, oldest first.
    pub seconds: Vec<Second>,
}

impl Tally {
    /// Adds one accepted purchase at `at_sec` (the in-memory gate's bookkeeping; the Redis
    /// gate does the same in its script), keeping only the chart's window.
    pub fn accept(&mut self, units: i64, remaining: i64, at_sec: i64) {
        self.accepted += 1;
        self.units += units;
        match self.seconds.last_mut() {
            Some(last) if last.at == at_sec => {
                last.units += units;
                last.remaining = remaining;
            }
            _ => self.seconds.push(Second { at: at_sec, units, remaining }),
        }
        let oldest = at_sec - WINDOW_SECS;
        let stale = self.seconds.iter().take_while(|s| s.at <= oldest).count();
        self.seconds.drain(..stale);
    }
}

/// One sale's activity as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleActivity {
    pub sale_id: i64,
    /// Units the sale offers (the chart's scale for the remaining line).
    pub quantity: i64,
    /// Units left as the gate counts them; `None` when the gate has not loaded the sale.
    pub remaining: Option<i64>,
    pub tally: Tally,
    /// When it was read (Unix seconds): the chart's right edge.
    pub now_sec: i64,
}

/// A bar of the units-per-second chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub units: i64,
    /// Seconds before now.
    pub ago: i64,
}

/// What the chart draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub bars: Vec<Bar>,
    /// Most units in one second (the bars' scale), at least 1.
    pub peak: i64,
    /// The remaining-stock line, SVG `points` ("x,y x,y …"); empty when nothing was sold in
    /// the window and the gate does not know the sale.
    pub remaining: String,
}

impl SaleActivity {
    /// What the live stream compares with the page's `data-version`: it changes whenever a
    /// figure the page shows changes.
    pub fn version(&self) -> String {
        let t = &self.tally;
        let left = self.remaining.map_or_else(|| "-".to_string(), |r| r.to_string());
        format!("{}:{}:{}:{}:{}:{left}", self.sale_id, t.accepted, t.sold_out, t.over_limit, t.shed)
    }

    /// The version of a page showing several sales (the dashboard).
    pub fn versions(all: &[SaleActivity]) -> String {
        if all.is_empty() {
            return "none".to_string();
        }
        all.iter().map(SaleActivity::version).collect::<Vec<_>>().join(",")
    }

    /// Units taken within the chart's window.
    pub fn units_in_window(&self) -> i64 {
        let from = self.now_sec - WINDOW_SECS;
        self.tally.seconds.iter().filter(|s| s.at > from && s.at <= self.now_sec).map(|s| s.units).sum()
    }

    /// Bars for the units taken each second, and the remaining stock as a step line from the
    /// window's start to now.
    pub fn chart(&self) -> Chart {
        let from = self.now_sec - WINDOW_SECS;
        let in_window: Vec<Second> =
            self.tally.seconds.iter().copied().filter(|s| s.at > from && s.at <= self.now_sec).collect();
        let peak = in_window.iter().map(|s| s.units).max().unwrap_or(0).max(1);
        let slot = CHART_WIDTH / WINDOW_SECS;
        let x_of = |at: i64| (at - from - 1) * slot;
        let bars = in_window
            .iter()
            .map(|s| {
                let height = (s.units * CHART_HEIGHT / peak).max(1);
                Bar { x: x_of(s.at), y: CHART_HEIGHT - height, width: slot - 1, height, units: s.units, ago: self.now_sec - s.at }
            })
            .collect();
        let scale = self.quantity.max(1);
        let y_of = |left: i64| CHART_HEIGHT - left.clamp(0, scale) * CHART_HEIGHT / scale;
        // Left before the window's first sale: what that second ended with plus what it took.
        let start = in_window.first().map(|s| s.remaining + s.units).or(self.remaining);
        let mut points = Vec::new();
        if let Some(start) = start {
            let mut level = y_of(start);
            points.push((0, level));
            for s in &in_window {
                let x = x_of(s.at);
                points.push((x, level));
                level = y_of(s.remaining);
                points.push((x + slot, level));
            }
            points.push((CHART_WIDTH, self.remaining.map_or(level, y_of)));
        }
        let remaining = points.iter().map(|(x, y)| format!("{x},{y}")).collect::<Vec<_>>().join(" ");
        Chart { bars, peak, remaining }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(seconds: Vec<Second>, remaining: Option<i64>) -> SaleActivity {
        let units = seconds.iter().map(|s| s.units).sum();
        SaleActivity {
            sale_id: 7,
            quantity: 100,
            remaining,
            tally: Tally { accepted: units, units, seconds, ..Tally::default() },
            now_sec: 1_000,
        }
    }

    #[test]
    fn accepting_groups_by_second_and_keeps_the_window() {
        let mut t = Tally::default();
        t.accept(2, 98, 10);
        t.accept(1, 97, 10);
        t.accept(1, 96, 11);
        assert_eq!(t.seconds, vec![Second { at: 10, units: 3, remaining: 97 }, Second { at: 11, units: 1, remaining: 96 }]);
        assert_eq!((t.accepted, t.units), (3, 4));
        t.accept(1, 95, 10 + WINDOW_SECS);
        assert_eq!(t.seconds.first().map(|s| s.at), Some(11), "second 10 left the window");
        t.accept(1, 94, 500);
        assert_eq!(t.seconds.len(), 1);
        assert_eq!(t.units, 6, "totals keep everything");
    }

    #[test]
    fn the_version_changes_with_every_figure_shown() {
        let a = activity(vec![Second { at: 990, units: 3, remaining: 97 }], Some(97));
        let mut b = a.clone();
        assert_eq!(a.version(), b.version());
        b.tally.sold_out += 1;
        assert_ne!(a.version(), b.version());
        let mut c = a.clone();
        c.remaining = Some(98);
        assert_ne!(a.version(), c.version(), "a cancelled order gave a unit back");
        let mut d = a.clone();
        d.tally.shed += 1;
        assert_ne!(a.version(), d.version());
        assert_eq!(SaleActivity::versions(&[]), "none");
        assert_eq!(SaleActivity::versions(&[a.clone(), c.clone()]), format!("{},{}", a.version(), c.version()));
    }

    #[test]
    fn the_chart_scales_bars_to_the_busiest_second_and_steps_the_stock_down() {
        let a = activity(
            vec![Second { at: 900, units: 50, remaining: 50 }, Second { at: 990, units: 4, remaining: 46 }, Second { at: 1_000, units: 8, remaining: 38 }],
            Some(40),
        );
        let chart = a.chart();
        assert_eq!(chart.peak, 8, "second 900 is outside the window");
        assert_eq!(chart.bars.len(), 2);
        let (first, last) = (chart.bars[0], chart.bars[1]);
        assert_eq!((first.height, last.height), (CHART_HEIGHT / 2, CHART_HEIGHT));
        assert_eq!((first.ago, last.ago), (10, 0));
        assert!(last.x + last.width <= CHART_WIDTH && first.x < last.x);
        // Starts at 50 left (46 + 4), steps to 46, then 38, and ends at the gate's 40 (a unit
        // came back after the last sale).
        let points: Vec<(i64, i64)> = chart
            .remaining
            .split(' ')
            .map(|p| p.split_once(',').map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap())).unwrap())
            .collect();
        let y = |left: i64| CHART_HEIGHT - left * CHART_HEIGHT / 100;
        assert_eq!(points.first(), Some(&(0, y(50))));
        assert!(points.contains(&(first.x + CHART_WIDTH / WINDOW_SECS, y(46))));
        assert_eq!(points.last(), Some(&(CHART_WIDTH, y(40))));
        assert_eq!(a.units_in_window(), 12);
    }

    #[test]
    fn a_quiet_sale_draws_a_flat_line_and_no_bars() {
        let chart = activity(vec![], Some(100)).chart();
        assert!(chart.bars.is_empty());
        assert_eq!(chart.remaining, format!("0,0 {CHART_WIDTH},0"));
        assert_eq!(activity(vec![], None).chart().remaining, "");
    }
}
