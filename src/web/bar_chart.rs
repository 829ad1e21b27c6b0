//! A small bar chart of one figure over consecutive periods, drawn on the
//! server: the coordinates are computed here in integers, the SVG is the
//! template `partials/bar_chart.html`, so pages need no script and the CSP
//! (no inline style) holds. The running period is drawn in the accent colour;
//! each bar carries its period and value as a tooltip (`<title>`).

pub const WIDTH: i64 = 240;
pub const HEIGHT: i64 = 64;
/// Room under the bars for the baseline.
const BASELINE: i64 = 2;
/// Between bars, in viewBox units.
const GAP: i64 = 2;

#[derive(Debug)]
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// `2026-11-16: ¥1,234.00`.
    pub title: String,
    /// The period still running.
    pub current: bool,
}

#[derive(Debug)]
pub struct BarChart {
    pub width: i64,
    pub height: i64,
    pub baseline: i64,
    /// What the chart shows, for screen readers.
    pub label: String,
    pub bars: Vec<Bar>,
}

impl BarChart {
    /// One bar per `(period label, value, value as shown)`, oldest first; the
    /// last is the running period. Negative values draw as empty bars: the
    /// figures charted (counts, revenue, points moved) are not meant to go
    /// below zero, and the number beside the chart says so if one does.
    pub fn draw(label: String, points: Vec<(String, i64, String)>) -> Self {
        let count = i64::try_from(points.len()).unwrap_or(1).max(1);
        let slot = WIDTH / count;
        let width = (slot - GAP).max(1);
        let top = points
            .iter()
            .map(|(_, value, _)| *value)
            .max()
            .unwrap_or(0)
            .max(1);
        let room = HEIGHT - BASELINE;
        let last = points.len().saturating_sub(1);
        let bars = points
            .into_iter()
            .enumerate()
            .map(|(index, (period, value, shown))| {
                // Rounded up so any non-zero value shows at least a sliver.
                let scaled = i128::from(value.max(0)) * i128::from(room);
                let height = (scaled + i128::from(top) - 1) / i128::from(top);
                let height = i64::try_from(height).unwrap_or(room);
                let slot_index = i64::try_from(index).unwrap_or(0);
                Bar {
                    x: slot_index * slot + GAP / 2,
                    y: room - height,
                    width,
                    height,
                    title: format!("{period}: {shown}"),
                    current: index == last,
                }
            })
            .collect();
        Self {
            width: WIDTH,
            height: HEIGHT,
            baseline: HEIGHT - BASELINE,
            label,
            bars,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: &[i64]) -> BarChart {
        BarChart::draw(
            "test".to_owned(),
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("p{i}"), *v, v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_largest_value_fills_the_height_and_others_scale_to_it() {
        let chart = chart(&[0, 31, 62]);
        let room = HEIGHT - BASELINE;
        assert_eq!(chart.bars[2].height, room);
        assert_eq!(chart.bars[2].y, 0);
        assert_eq!(chart.bars[1].height, room / 2);
        assert_eq!(chart.bars[0].height, 0);
        assert!(chart.bars.iter().all(|b| b.y + b.height == room));
    }

    #[test]
    fn bars_stay_inside_the_view_box_and_only_the_last_is_current() {
        let chart = chart(&[5; 30]);
        for bar in &chart.bars {
            assert!(bar.x >= 0 && bar.x + bar.width <= WIDTH);
        }
        assert_eq!(chart.bars.iter().filter(|b| b.current).count(), 1);
        assert!(chart.bars[29].current);
        assert_eq!(chart.bars[3].title, "p3: 5");
    }

    #[test]
    fn a_tiny_value_still_shows_and_a_negative_one_draws_nothing() {
        let chart = chart(&[i64::MAX / 2, 1, -7]);
        assert_eq!(chart.bars[1].height, 1);
        assert_eq!(chart.bars[2].height, 0);
        assert!(
            BarChart::draw("none".to_owned(), Vec::new())
                .bars
                .is_empty()
        );
    }
}
