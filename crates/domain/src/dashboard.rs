//! 指挥部看板: how far behind a region is. The thresholds are data (the
//! constants below); a tile takes the worst of its figures' lags.
//!
//! | figure | measure | behind (amber) | far behind (red) |
//! |---|---|---|---|
//! | overdue tasks | overdue ÷ open tasks | ≥ 10 % | ≥ 25 % |
//! | escalated tasks | escalated ÷ open tasks | ≥ 5 % | ≥ 15 % |
//! | missed tests | missed ÷ yesterday's tests | ≥ 5 % | ≥ 15 % |
//! | 闭环率 | closed in time ÷ due | < 90 % | < 75 % |
//! | help waiting | requests not yet answered | ≥ 1 | ≥ 5 |
//!
//! A share with nothing to divide by is on track.

use std::collections::BTreeMap;

use serde::Serialize;

/// How far behind: green, amber, red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lag {
    OnTrack,
    Behind,
    FarBehind,
}

impl Lag {
    /// The CSS class and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Lag::OnTrack => "ok",
            Lag::Behind => "behind",
            Lag::FarBehind => "far",
        }
    }
}

/// Two thresholds: from `behind` on amber, from `far` on red. For shares they
/// are percentages; for counts, counts. For the closure rate, lower is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    pub behind: i64,
    pub far: i64,
}

pub const OVERDUE_PCT: Bands = Bands {
    behind: 10,
    far: 25,
};
pub const ESCALATED_PCT: Bands = Bands { behind: 5, far: 15 };
pub const MISSED_PCT: Bands = Bands { behind: 5, far: 15 };
pub const CLOSURE_PCT: Bands = Bands {
    behind: 90,
    far: 75,
};
pub const HELP_WAITING: Bands = Bands { behind: 1, far: 5 };

/// The 闭环率 window: tasks whose deadline fell in the last this many days
/// (today included) and has passed.
pub const CLOSURE_DAYS: i64 = 7;
/// The arrivals window of the tiles.
pub const ARRIVAL_DAYS: i64 = 14;
/// Days on the trend charts (today included).
pub const TREND_DAYS: i64 = 30;

/// `part ÷ whole` against percentage bands, higher is worse.
pub fn share_lag(part: i64, whole: i64, bands: Bands) -> Lag {
    if whole <= 0 {
        Lag::OnTrack
    } else if part * 100 >= bands.far * whole {
        Lag::FarBehind
    } else if part * 100 >= bands.behind * whole {
        Lag::Behind
    } else {
        Lag::OnTrack
    }
}

/// A count against bands, higher is worse.
pub fn count_lag(n: i64, bands: Bands) -> Lag {
    if n >= bands.far {
        Lag::FarBehind
    } else if n >= bands.behind {
        Lag::Behind
    } else {
        Lag::OnTrack
    }
}

/// 闭环率 in tenths of a percent: tasks closed within their deadline ÷ tasks
/// whose deadline has passed. `None` when nothing was due.
pub fn closure_permille(closed_in_time: i64, due: i64) -> Option<i64> {
    (due > 0).then(|| (closed_in_time.clamp(0, due) * 1000 + due / 2) / due)
}

/// The closure rate's lag: lower is worse; nothing due is on track.
pub fn closure_lag(closed_in_time: i64, due: i64) -> Lag {
    if due <= 0 {
        Lag::OnTrack
    } else if closed_in_time * 100 < CLOSURE_PCT.far * due {
        Lag::FarBehind
    } else if closed_in_time * 100 < CLOSURE_PCT.behind * due {
        Lag::Behind
    } else {
        Lag::OnTrack
    }
}

/// The figures a tile is coloured by.
#[derive(Debug, Clone, Copy, Default)]
pub struct TileFigures {
    pub open: i64,
    pub overdue: i64,
    pub escalated: i64,
    pub tests_yesterday: i64,
    pub tests_missed: i64,
    pub due: i64,
    pub closed_in_time: i64,
    pub help_waiting: i64,
}

/// Each figure's lag and the tile's (the worst of them).
pub fn tile_lag(f: &TileFigures) -> Lag {
    [
        share_lag(f.overdue, f.open, OVERDUE_PCT),
        share_lag(f.escalated, f.open, ESCALATED_PCT),
        share_lag(f.tests_missed, f.tests_yesterday, MISSED_PCT),
        closure_lag(f.closed_in_time, f.due),
        count_lag(f.help_waiting, HELP_WAITING),
    ]
    .into_iter()
    .max()
    .unwrap_or(Lag::OnTrack)
}

/// The worst of a tile's shares, in tenths of a percent (higher is worse),
/// so tiles of the same lag can be ordered worst first: overdue and
/// escalated of open tasks, missed of yesterday's tests, and the shortfall
/// of the 闭环率 below 100 %. Nothing to divide by counts as 0.
pub fn worst_share_permille(f: &TileFigures) -> i64 {
    let share = |part: i64, whole: i64| {
        if whole > 0 {
            part.clamp(0, whole) * 1000 / whole
        } else {
            0
        }
    };
    [
        share(f.overdue, f.open),
        share(f.escalated, f.open),
        share(f.tests_missed, f.tests_yesterday),
        closure_permille(f.closed_in_time, f.due).map_or(0, |p| 1000 - p),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// Region code → figure → value.
pub type Figures = BTreeMap<String, BTreeMap<String, i64>>;

/// Sums figures kept by whole region codes into the tiles of `scope`'s
/// board: each code under `scope` cut to `depth` characters. A code no
/// longer than `scope` lands on `scope` itself (its 本级直属 work).
pub fn roll_up(by_code: &Figures, scope: &str, depth: usize) -> Figures {
    let mut out = Figures::new();
    for (code, figures) in by_code.range(scope.to_string()..) {
        if !code.starts_with(scope) {
            break;
        }
        let tile = out
            .entry(code[..depth.min(code.len())].to_string())
            .or_default();
        for (k, v) in figures {
            *tile.entry(k.clone()).or_default() += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(rows: &[(&str, &str, i64)]) -> Figures {
        let mut f = Figures::new();
        for (code, k, v) in rows {
            *f.entry(code.to_string())
                .or_default()
                .entry(k.to_string())
                .or_default() += v;
        }
        f
    }

    #[test]
    fn roll_up_sums_codes_into_the_tiles_of_a_scope() {
        let by_code = figures(&[
            ("330784", "tasks_open", 1),
            ("330784001", "tasks_open", 2),
            ("330784001001", "tasks_open", 3),
            ("330784001001001", "tasks_open", 4),
            ("330784001002001", "positives", 5),
            ("330784002001001", "tasks_open", 6),
            ("330785001001001", "tasks_open", 7),
        ]);
        assert_eq!(
            roll_up(&by_code, "330784", 9),
            figures(&[
                ("330784", "tasks_open", 1),
                ("330784001", "tasks_open", 9),
                ("330784001", "positives", 5),
                ("330784002", "tasks_open", 6),
            ])
        );
        assert_eq!(
            roll_up(&by_code, "330784001", 12),
            figures(&[
                ("330784001", "tasks_open", 2),
                ("330784001001", "tasks_open", 7),
                ("330784001002", "positives", 5),
            ])
        );
        // Everything, by village: what the daily snapshot keeps.
        let all = roll_up(&by_code, "", 12);
        assert_eq!(all["330785001001"]["tasks_open"], 7);
        assert_eq!(all["330784"]["tasks_open"], 1);
    }

    #[test]
    fn shares_cross_their_bands_at_the_threshold() {
        assert_eq!(share_lag(0, 0, OVERDUE_PCT), Lag::OnTrack);
        assert_eq!(share_lag(9, 100, OVERDUE_PCT), Lag::OnTrack);
        assert_eq!(share_lag(10, 100, OVERDUE_PCT), Lag::Behind);
        assert_eq!(share_lag(24, 100, OVERDUE_PCT), Lag::Behind);
        assert_eq!(share_lag(25, 100, OVERDUE_PCT), Lag::FarBehind);
        assert_eq!(share_lag(1, 3, MISSED_PCT), Lag::FarBehind);
        assert_eq!(count_lag(0, HELP_WAITING), Lag::OnTrack);
        assert_eq!(count_lag(1, HELP_WAITING), Lag::Behind);
        assert_eq!(count_lag(5, HELP_WAITING), Lag::FarBehind);
    }

    #[test]
    fn the_closure_rate_is_closed_in_time_over_due() {
        assert_eq!(closure_permille(0, 0), None);
        assert_eq!(closure_permille(2, 3), Some(667));
        assert_eq!(closure_permille(3, 3), Some(1000));
        assert_eq!(closure_permille(1, 8), Some(125));
        assert_eq!(closure_lag(0, 0), Lag::OnTrack);
        assert_eq!(closure_lag(9, 10), Lag::OnTrack);
        assert_eq!(closure_lag(8, 10), Lag::Behind);
        assert_eq!(closure_lag(3, 4), Lag::Behind);
        assert_eq!(closure_lag(2, 3), Lag::FarBehind);
    }

    #[test]
    fn a_tile_takes_its_worst_figure() {
        let calm = TileFigures {
            open: 100,
            overdue: 1,
            due: 10,
            closed_in_time: 10,
            ..Default::default()
        };
        assert_eq!(tile_lag(&calm), Lag::OnTrack);
        assert_eq!(
            tile_lag(&TileFigures {
                help_waiting: 1,
                ..calm
            }),
            Lag::Behind
        );
        assert_eq!(
            tile_lag(&TileFigures {
                tests_yesterday: 10,
                tests_missed: 2,
                help_waiting: 1,
                ..calm
            }),
            Lag::FarBehind
        );
    }

    #[test]
    fn the_worst_share_orders_tiles_of_one_lag() {
        let f = |overdue, open, missed, yesterday, closed, due| TileFigures {
            open,
            overdue,
            tests_missed: missed,
            tests_yesterday: yesterday,
            closed_in_time: closed,
            due,
            ..TileFigures::default()
        };
        assert_eq!(worst_share_permille(&f(0, 0, 0, 0, 0, 0)), 0);
        assert_eq!(worst_share_permille(&f(3, 10, 0, 0, 0, 0)), 300);
        assert_eq!(worst_share_permille(&f(1, 10, 2, 4, 0, 0)), 500);
        // 闭环率 60 % is a 40 % shortfall.
        assert_eq!(worst_share_permille(&f(0, 0, 0, 0, 6, 10)), 400);
        // A part larger than its whole (counted at different moments) is capped.
        assert_eq!(worst_share_permille(&f(12, 10, 0, 0, 0, 0)), 1000);
    }
}
