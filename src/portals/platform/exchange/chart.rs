//! The rate history chart, drawn on the server: coordinates computed here, the
//! inline SVG in `templates/platform/exchange/program.html`. Each published
//! value holds until the next publication, so the lines are steps; override
//! windows are shaded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, prelude::ToPrimitive};

use crate::{
    domain::rate::Rate,
    exchange::{model, rates::ProgramRate},
};

pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 280.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 32.0;
const Y_TICKS: u32 = 5;

/// What the template draws.
pub struct RateChart {
    pub sell: String,
    pub buy: String,
    pub settlement: String,
    pub band_low: String,
    pub band_high: String,
    /// Override windows: (x, width).
    pub shaded: Vec<(String, String)>,
    /// Grid lines: (y, label).
    pub y_ticks: Vec<(String, String)>,
    /// Day marks: (x, label).
    pub x_ticks: Vec<(String, String)>,
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
    pub label_y: String,
}

/// The inputs: published rows oldest first, each publication's band, and the
/// override windows to shade.
pub struct History<'a> {
    pub rows: &'a [(DateTime<Utc>, ProgramRate)],
    pub band_bp: &'a HashMap<i64, i32>,
    pub default_band_bp: i32,
    pub windows: &'a [(DateTime<Utc>, DateTime<Utc>)],
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Day marks along the time axis, with their labels.
    pub ticks: &'a [(DateTime<Utc>, String)],
}

fn float(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// Seconds as a float; a period of the chart fits an i32 many times over.
fn seconds(span: chrono::TimeDelta) -> f64 {
    f64::from(i32::try_from(span.num_seconds()).unwrap_or(i32::MAX))
}

fn coordinate(value: f64) -> String {
    format!("{value:.1}")
}

/// `0.0105`: six decimals at most, no trailing zeros.
fn value_label(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl RateChart {
    /// None when nothing was published in the period.
    pub fn draw(history: &History<'_>) -> Option<Self> {
        let rows = history.rows;
        if rows.is_empty() {
            return None;
        }
        let bands: Vec<(f64, f64)> = rows
            .iter()
            .map(|(_, row)| {
                let band_bp = history
                    .band_bp
                    .get(&row.publication_id)
                    .copied()
                    .unwrap_or(history.default_band_bp);
                let settlement =
                    Rate::new(row.settlement_value).expect("stored values are positive");
                let (low, high) = model::band(settlement, band_bp);
                (float(low.as_decimal()), float(high.as_decimal()))
            })
            .collect();
        let values = rows
            .iter()
            .flat_map(|(_, r)| [r.sell_value, r.buy_value, r.settlement_value])
            .map(float)
            .chain(bands.iter().flat_map(|(low, high)| [*low, *high]));
        let (min, max) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let pad = ((max - min) * 0.08).max(max.abs() * 0.01).max(1e-6);
        let (min, max) = (min - pad, max + pad);
        let span = history.now - history.since;
        let span_seconds = seconds(span).max(1.0);
        let x = |at: DateTime<Utc>| {
            let at = at.clamp(history.since, history.now);
            LEFT + (WIDTH - LEFT - RIGHT) * seconds(at - history.since) / span_seconds
        };
        let y = |value: f64| TOP + (HEIGHT - TOP - BOTTOM) * (max - value) / (max - min);
        let steps = |value: &dyn Fn(usize) -> f64| {
            let mut points = Vec::with_capacity(rows.len() * 2);
            for (i, (at, _)) in rows.iter().enumerate() {
                let until = rows.get(i + 1).map_or(history.now, |(next, _)| *next);
                let level = y(value(i));
                points.push(format!("{},{}", coordinate(x(*at)), coordinate(level)));
                points.push(format!("{},{}", coordinate(x(until)), coordinate(level)));
            }
            points.join(" ")
        };
        let shaded = history
            .windows
            .iter()
            .filter(|(start, end)| *end > history.since && *start < history.now)
            .map(|(start, end)| {
                let (from, to) = (x(*start), x(*end));
                (coordinate(from), coordinate((to - from).max(1.0)))
            })
            .collect();
        let y_ticks = (0..=Y_TICKS)
            .map(|i| {
                let value = min + (max - min) * f64::from(i) / f64::from(Y_TICKS);
                (coordinate(y(value)), value_label(value))
            })
            .collect();
        let x_ticks = history
            .ticks
            .iter()
            .map(|(at, label)| (coordinate(x(*at)), label.clone()))
            .collect();
        Some(Self {
            sell: steps(&|i| float(rows[i].1.sell_value)),
            buy: steps(&|i| float(rows[i].1.buy_value)),
            settlement: steps(&|i| float(rows[i].1.settlement_value)),
            band_low: steps(&|i| bands[i].0),
            band_high: steps(&|i| bands[i].1),
            shaded,
            y_ticks,
            x_ticks,
            left: coordinate(LEFT),
            right: coordinate(WIDTH - RIGHT),
            top: coordinate(TOP),
            bottom: coordinate(HEIGHT - BOTTOM),
            label_y: coordinate(HEIGHT - BOTTOM + 18.0),
        })
    }
}
