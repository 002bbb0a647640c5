//! Trend charts as inline SVG, drawn on the server: pure geometry.

/// The plot area, in SVG user units.
pub const W: f64 = 300.0;
pub const H: f64 = 80.0;

/// The smallest 1, 2 or 5 × 10ⁿ at or above `max` (at least 1).
pub fn nice_max(max: f64) -> f64 {
    if max <= 1.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * p)
}

/// One `points` attribute per run of days with values; a day without a
/// value breaks the line. Day i sits at x = i·W/(n−1), value v at
/// y = H − v/top·H.
pub fn polylines(values: &[Option<f64>], top: f64) -> Vec<String> {
    let n = values.len();
    let step = if n > 1 { W / (n - 1) as f64 } else { 0.0 };
    let mut out = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let y = H - (v / top).clamp(0.0, 1.0) * H;
                run.push(format!("{:.1},{:.1}", i as f64 * step, y));
            }
            None if !run.is_empty() => out.push(std::mem::take(&mut run).join(" ")),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(run.join(" "));
    }
    out
}

/// A chart: lines (class, points) and its labels.
pub struct Chart {
    pub title: &'static str,
    pub lines: Vec<(&'static str, String)>,
    pub top: String,
    pub first: String,
    pub last: String,
    /// Today's value, as shown.
    pub now: String,
}

/// Builds a chart of several series over the same days.
pub fn chart(
    title: &'static str,
    series: &[(&'static str, Vec<Option<f64>>)],
    first: String,
    last: String,
    percent: bool,
) -> Chart {
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b));
    let top = if percent { 100.0 } else { nice_max(max) };
    let now = series
        .last()
        .and_then(|(_, v)| v.last().copied().flatten())
        .map_or("—".to_string(), |v| {
            if percent {
                format!("{v:.1}%")
            } else {
                format!("{v}")
            }
        });
    Chart {
        title,
        lines: series
            .iter()
            .flat_map(|(class, v)| polylines(v, top).into_iter().map(move |p| (*class, p)))
            .collect(),
        top: format!("{top}"),
        first,
        last,
        now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_is_a_round_number() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(1.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(11.0), 20.0);
        assert_eq!(nice_max(48_000.0), 50_000.0);
        assert_eq!(nice_max(51.0), 100.0);
    }

    #[test]
    fn days_spread_across_the_width_and_gaps_break_the_line() {
        let v = [Some(0.0), Some(5.0), None, Some(10.0), Some(2.5)];
        let lines = polylines(&v, 10.0);
        assert_eq!(lines, vec!["0.0,80.0 75.0,40.0", "225.0,0.0 300.0,60.0"]);
        assert!(polylines(&[None, None], 1.0).is_empty());
        assert_eq!(polylines(&[Some(3.0)], 2.0), vec!["0.0,0.0"]);
    }

    #[test]
    fn a_chart_shows_todays_value() {
        let c = chart(
            "t",
            &[("done", vec![Some(1.0), Some(66.7)])],
            "a".into(),
            "b".into(),
            true,
        );
        assert_eq!(c.top, "100");
        assert_eq!(c.now, "66.7%");
        assert_eq!(c.lines.len(), 1);
    }
}
