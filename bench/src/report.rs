//! What a drill prints and writes: a line per run on the terminal, `docs/BENCHMARKS.md` with a
//! table per mode and scenario, and a latency-versus-concurrency chart (SVG).

use crate::drill::Measured;
use crate::load::Latency;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// A baseline measured in the same run: the constant handler at one concurrency.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    pub conns: usize,
    pub rate: f64,
    pub latency: Latency,
}

/// Everything one invocation measured.
#[derive(Default)]
pub struct Report {
    pub command: String,
    pub baselines: Vec<Baseline>,
    /// The constant handler with every request on its own connection, all at once (overload).
    pub storm: Option<Baseline>,
    /// Shop `/healthz` and constant `GET /healthz` at the same concurrency (req/s, p99 ms).
    pub healthz: Option<(usize, f64, f64, f64, f64)>,
    pub redis_gate: Option<f64>,
    pub runs: Vec<Measured>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn baseline(&self, conns: usize) -> Option<&Baseline> {
        self.baselines.iter().find(|b| b.conns == conns)
    }

    /// The decision rate as a share of the constant handler's at the same concurrency.
    pub fn ratio(&self, m: &Measured) -> Option<f64> {
        if m.scenario == "overload" {
            return self.storm.map(|b| m.rate() / b.rate);
        }
        self.baseline(m.conns).map(|b| m.rate() / b.rate)
    }

    /// One terminal line for a run.
    pub fn line(&self, m: &Measured) -> String {
        let ratio = self.ratio(m).map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "-".into());
        format!(
            "{:<8} {:<8} C={:<5} {:>8.0}/s ({ratio:>7} of constant) p50 {:>7.1} p95 {:>7.1} p99 {:>7.1} max {:>7.1} ms | \
             accepted {} sold-out {} over-limit {} shed {} errors {} | delivered {} | {}",
            m.mode.name(),
            m.scenario,
            m.conns,
            m.rate(),
            m.latency.p50,
            m.latency.p95,
            m.latency.p99,
            m.latency.max,
            m.accepted,
            m.sold_out,
            m.over_limit,
            m.shed,
            m.errors,
            m.delivered_after.map(|d| format!("{:.2} s", d.as_secs_f64())).unwrap_or_else(|| "-".into()),
            if m.violations.is_empty() { "invariants held".to_string() } else { m.violations.join("; ") },
        )
    }

    pub fn markdown(&self, machine: &str, chart: Option<&str>) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmarks: the flash-sale drill\n");
        let _ = writeln!(
            s,
            "Written by the drill (`bench/`, see the README's *Benchmarks* section). Every figure comes \
             from the run below and is compared with baselines measured **in the same run on the same \
             machine**, because the machine is shared and noisy: a figure from another run is not \
             comparable.\n"
        );
        let _ = writeln!(s, "- Command: `{}`", self.command);
        let _ = writeln!(s, "- Machine: {machine}\n");
        let _ = writeln!(s, "## Baselines\n");
        let _ = writeln!(
            s,
            "The constant handler is an axum `POST /api/buy` answering a fixed JSON body, in its own \
            process, driven by the same client with the same requests (cookie, form body); the best of three passes.\n"
        );
        let _ = writeln!(s, "| C | constant handler (req/s) | p50 ms | p99 ms |\n|---:|---:|---:|---:|");
        for b in &self.baselines {
            let _ =
                writeln!(s, "| {} | {:.0} | {:.2} | {:.2} |", b.conns, b.rate, b.latency.p50, b.latency.p99);
        }
        if let Some(b) = self.storm {
            let _ = writeln!(
                s,
                "\nOverload floor: the constant handler with {} connections opened at the same instant, one \
                 request each: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (connecting counts).",
                b.conns, b.rate, b.latency.p50, b.latency.p99, b.latency.max
            );
        }
        if let Some((c, shop, shop_p99, constant, constant_p99)) = self.healthz {
            let _ = writeln!(
                s,
                "\n`GET /healthz` (the middleware floor), C={c}: shop {shop:.0}/s (p99 {shop_p99:.1} ms), \
                 constant {constant:.0}/s (p99 {constant_p99:.1} ms): **{:.1} %**.",
                shop / constant * 100.0
            );
        }
        match self.redis_gate {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "\n`redis-benchmark` of the gate's reserve script (64 clients): {r:.0} decisions/s."
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "\n`redis-benchmark` of the gate's script: not measured (no redis-benchmark or Redis)."
                );
            }
        }
        let mut groups: BTreeMap<(String, String), Vec<&Measured>> = BTreeMap::new();
        for m in &self.runs {
            groups.entry((m.mode.label().to_string(), m.scenario.clone())).or_default().push(m);
        }
        for ((mode, scenario), runs) in &groups {
            let _ = writeln!(s, "\n## {scenario}: {mode}\n");
            let _ = writeln!(
                s,
                "| C | decisions/s | % of constant | p50 ms | p95 ms | p99 ms | max ms | accepted | sold out | over limit | shed | errors | ≤ 1 s | opening → all DELIVERED | peak RSS MiB | invariants |\n\
                 |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
            );
            for m in runs {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.1} % | {} | {:.0} | {} |",
                    m.conns,
                    m.rate(),
                    self.ratio(m).map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "-".into()),
                    m.latency.p50,
                    m.latency.p95,
                    m.latency.p99,
                    m.latency.max,
                    m.accepted,
                    m.sold_out,
                    m.over_limit,
                    m.shed,
                    m.errors,
                    m.within_1s * 100.0,
                    m.delivered_after.map(|d| format!("{:.2} s", d.as_secs_f64())).unwrap_or_else(|| "-".into()),
                    m.peak_rss_mib,
                    if m.violations.is_empty() { "held".to_string() } else { m.violations.join("; ") },
                );
            }
        }
        if let Some(chart) = chart {
            let _ =
                writeln!(s, "\n## Latency versus concurrency\n\n![p99 latency versus connections]({chart})");
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    /// p99 latency against connections, one line per mode and scenario (the overload runs,
    /// one point each, are left out), plus the constant handler.
    pub fn chart(&self, path: &Path) -> Result<()> {
        use plotters::prelude::*;
        let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for m in self.runs.iter().filter(|m| m.scenario != "overload") {
            series
                .entry(format!("{} {}", m.mode.name(), m.scenario))
                .or_default()
                .push((m.conns as f64, m.latency.p99));
        }
        series.insert(
            "constant handler".into(),
            self.baselines.iter().map(|b| (b.conns as f64, b.latency.p99)).collect(),
        );
        let max_x = series.values().flatten().map(|p| p.0).fold(2.0, f64::max) * 1.5;
        let max_y = series.values().flatten().map(|p| p.1).fold(1.0, f64::max) * 1.2;
        let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Buy path: p99 latency versus connections (lower is better)", ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((1f64..max_x).log_scale(), (0.1f64..max_y).log_scale())?;
        chart.configure_mesh().x_desc("connections (C)").y_desc("p99 latency, ms").draw()?;
        for (i, (name, mut points)) in series.into_iter().enumerate() {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    }
}
