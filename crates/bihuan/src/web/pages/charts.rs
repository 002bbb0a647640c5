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

/// One town on the schematic map: a labelled cell linking to its board.
pub struct MapCell {
    pub x: i64,
    pub y: i64,
    pub name: String,
    pub href: String,
    /// The lag class (`ok`, `behind`, `far`), as the tiles use.
    pub lag: &'static str,
    /// A short figure under the name.
    pub note: String,
}

/// A schematic map of a board's parts: cells in rows by code (so the same
/// city always draws the same way), every other row shifted half a cell like
/// a honeycomb. Not geography: a picture of which parts lag.
pub struct TownMap {
    pub width: i64,
    pub height: i64,
    pub cell_w: i64,
    pub cell_h: i64,
    pub cells: Vec<MapCell>,
}

pub const MAP_CELL_W: i64 = 130;
pub const MAP_CELL_H: i64 = 66;
const MAP_GAP: i64 = 8;

/// Columns for `n` cells: three keep each cell a finger wide on a phone;
/// many parts get four.
fn map_columns(n: usize) -> usize {
    match n {
        0..=3 => n.max(1),
        4..=24 => 3,
        _ => 4,
    }
}

/// Lays out `parts` (name, href, lag, note), in the given order.
pub fn town_map(parts: Vec<(String, String, &'static str, String)>) -> TownMap {
    let cols = map_columns(parts.len());
    let rows = parts.len().div_ceil(cols).max(1);
    let (w, h) = (MAP_CELL_W + MAP_GAP, MAP_CELL_H + MAP_GAP);
    let offset = if rows > 1 { w / 2 } else { 0 };
    let cells = parts
        .into_iter()
        .enumerate()
        .map(|(i, (name, href, lag, note))| {
            let (row, col) = ((i / cols) as i64, (i % cols) as i64);
            MapCell {
                x: col * w + if row % 2 == 1 { offset } else { 0 },
                y: row * h,
                name,
                href,
                lag,
                note,
            }
        })
        .collect();
    TownMap {
        width: cols as i64 * w + offset - MAP_GAP,
        height: rows as i64 * h - MAP_GAP,
        cell_w: MAP_CELL_W,
        cell_h: MAP_CELL_H,
        cells,
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

    #[test]
    fn the_map_is_a_deterministic_honeycomb() {
        let part = |i: usize| (format!("镇{i}"), format!("/d/{i}"), "ok", String::new());
        let m = town_map((0..7).map(part).collect());
        let at: Vec<(i64, i64)> = m.cells.iter().map(|c| (c.x, c.y)).collect();
        // Three to a row, every other row shifted half a cell.
        assert_eq!(
            at,
            [
                (0, 0),
                (138, 0),
                (276, 0),
                (69, 74),
                (207, 74),
                (345, 74),
                (0, 148)
            ]
        );
        assert_eq!((m.width, m.height), (3 * 138 + 69 - 8, 3 * 74 - 8));
        // Every cell lies inside the drawing.
        assert!(
            m.cells
                .iter()
                .all(|c| c.x + m.cell_w <= m.width && c.y + m.cell_h <= m.height)
        );
        // One row: no shift.
        let one = town_map((0..2).map(part).collect());
        assert_eq!((one.width, one.height), (2 * 138 - 8, 66));
        assert!(town_map(Vec::new()).cells.is_empty());
    }
}
