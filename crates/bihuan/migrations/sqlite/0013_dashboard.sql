-- 指挥部 dashboards and the daily report (日报).
-- Indexes for the dashboard's set-based counts, the daily snapshot of every
-- figure per village (the trend charts and the report's change since
-- yesterday read it), and the kept reports.
CREATE INDEX tasks_due_at ON tasks (due_at);
CREATE INDEX controls_updated ON controls (updated_at);
CREATE INDEX persons_updated ON persons (updated_at);

-- One row per (day, region, figure). region is a village code, or a shorter
-- code for work owned above the villages; figure is a metric key such as
-- tasks_overdue or arrivals_today:close_contact.
CREATE TABLE daily_figures (
    on_date TEXT NOT NULL,
    region TEXT NOT NULL,
    figure TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (on_date, region, figure)
);

CREATE TABLE daily_reports (
    id INTEGER PRIMARY KEY,
    on_date TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX daily_reports_date ON daily_reports (on_date, id);
CREATE INDEX test_results_sampled ON test_results (sampled_on);
