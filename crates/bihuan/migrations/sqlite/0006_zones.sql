-- 封控区 / 管控区 / 防范区 drawn by the command around villages or grids.
CREATE TABLE zones (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    lifted_on TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
)
