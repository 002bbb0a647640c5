//! The task life cycle: dispatched → acknowledged → reported → closed, with reopen.

use serde::{Deserialize, Serialize};

use crate::regions::RegionCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// 核查: find the person and put the measure in place.
    Verify,
    /// 发热就诊转运: take a person with symptoms to a fever clinic.
    FeverTransfer,
    /// 未打卡: a day of a phase passed without a health check-in.
    CheckInMissed,
    /// 漏检: a scheduled test day passed without a test.
    TestMissed,
    /// 阳性处置: a positive result; hand over to case management.
    Positive,
    /// 解除管控: the plan is over and every test negative; confirm release.
    Release,
    /// 暖心服务: a person under a measure asked for help.
    Help,
    /// 转入核查: a person under a measure moved into this grid.
    TransferIn,
    /// 单采复核 / 重新采样: take a single sample again.
    Resample,
    /// 滚动检测超期: a key-industry worker is overdue for a test.
    RollingOverdue,
    /// 未检人员核查: a round closed with residents of this grid untested.
    Untested,
    /// 卡口转运接收: pick up a traveller a checkpoint handed over.
    Pickup,
    /// 封存: seal a holder's goods downstream of a positive batch or sample.
    Seal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Dispatched,
    Acknowledged,
    Reported,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    Acknowledge,
    Report,
    Close,
    Reopen,
}

/// What the worker found when verifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Verified,
    NotFound,
    Refused,
    /// The person lives elsewhere: the task moves to that village's grid.
    Moved,
    /// The declared facts were wrong: triage runs again on the corrected ones.
    Corrected,
    /// Done, for work that is not a verification (help, reminders).
    Done,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal, $zh:literal, $en:literal);* $(;)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some(Self::$v),)* _ => None } }
            pub fn label_zh(self) -> &'static str { match self { $(Self::$v => $zh),* } }
            pub fn label_en(self) -> &'static str { match self { $(Self::$v => $en),* } }
        }
    };
}

str_enum!(TaskKind {
    Verify => "verify", "核查", "Verify";
    FeverTransfer => "fever_transfer", "发热就诊转运", "Fever clinic transfer";
    CheckInMissed => "check_in_missed", "未打卡核查", "Missed check-in";
    TestMissed => "test_missed", "漏检追踪", "Missed test";
    Positive => "positive", "阳性处置", "Positive result";
    Release => "release", "解除管控", "Release";
    Help => "help", "暖心服务", "Help request";
    TransferIn => "transfer_in", "转入核查", "Moved in";
    Resample => "resample", "单采复核", "Single re-test";
    RollingOverdue => "rolling_overdue", "滚动检测超期", "Rolling test overdue";
    Untested => "untested", "未检人员核查", "Untested residents";
    Pickup => "pickup", "卡口转运接收", "Checkpoint pickup";
    Seal => "seal", "封存", "Seal goods";
});
str_enum!(TaskState {
    Dispatched => "dispatched", "待签收", "Dispatched";
    Acknowledged => "acknowledged", "已签收", "Acknowledged";
    Reported => "reported", "已反馈", "Reported";
    Closed => "closed", "已办结", "Closed";
});
str_enum!(TaskAction {
    Acknowledge => "ack", "签收", "Acknowledge";
    Report => "report", "反馈", "Report";
    Close => "close", "办结", "Close";
    Reopen => "reopen", "退回重办", "Reopen";
});
str_enum!(Outcome {
    Verified => "verified", "已核实，措施已落实", "Verified, measure in place";
    NotFound => "not_found", "查无此人", "Not found";
    Refused => "refused", "拒不配合", "Refused";
    Moved => "moved", "已迁往他处", "Moved elsewhere";
    Corrected => "corrected", "信息有误已更正", "Facts corrected";
    Done => "done", "已处理", "Done";
});

/// The state an action leads to, or `None` when the action is illegal now.
pub fn transition(from: TaskState, action: TaskAction) -> Option<TaskState> {
    use TaskAction as A;
    use TaskState as S;
    match (from, action) {
        (S::Dispatched, A::Acknowledge) => Some(S::Acknowledged),
        (S::Acknowledged, A::Report) => Some(S::Reported),
        (S::Reported, A::Close) => Some(S::Closed),
        (S::Reported | S::Closed, A::Reopen) => Some(S::Dispatched),
        _ => None,
    }
}

/// A task is overdue while nobody has reported on it and its deadline has passed.
pub fn is_overdue(state: TaskState, due_at: i64, now: i64) -> bool {
    matches!(state, TaskState::Dispatched | TaskState::Acknowledged) && now > due_at
}

/// The kinds that go to the top of every task list, in red: a person with
/// symptoms, a positive result and a single re-test cannot wait for a deadline.
pub const URGENT_KINDS: [TaskKind; 3] = [
    TaskKind::FeverTransfer,
    TaskKind::Positive,
    TaskKind::Resample,
];

/// An open (not yet closed) task of an urgent kind.
pub fn is_urgent(kind: TaskKind, state: TaskState) -> bool {
    state != TaskState::Closed && URGENT_KINDS.contains(&kind)
}

/// The first part of the urgency order: 0 urgent, 1 overdue, 2 the rest.
pub fn urgency_rank(kind: TaskKind, state: TaskState, due_at: i64, now: i64) -> u8 {
    if is_urgent(kind, state) {
        0
    } else if is_overdue(state, due_at, now) {
        1
    } else {
        2
    }
}

/// The sort key of 我的任务: urgent kinds first, then overdue tasks, then by
/// deadline, ties by id. `storage::repo::list_tasks` mirrors it in SQL.
pub fn urgency_key(
    kind: TaskKind,
    state: TaskState,
    due_at: i64,
    id: i64,
    now: i64,
) -> (u8, i64, i64) {
    (urgency_rank(kind, state, due_at, now), due_at, id)
}

/// Where an overdue task goes next: one level up from where it sits now
/// (grid → village → town → city); `None` once it is at the top.
pub fn escalate_to(current: &RegionCode) -> Option<RegionCode> {
    current.parent()
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskAction as A;
    use TaskState as S;

    #[test]
    fn the_happy_path_closes() {
        let s = transition(S::Dispatched, A::Acknowledge).unwrap();
        let s = transition(s, A::Report).unwrap();
        assert_eq!(transition(s, A::Close), Some(S::Closed));
    }

    #[test]
    fn illegal_transitions_are_refused() {
        assert_eq!(transition(S::Dispatched, A::Report), None);
        assert_eq!(transition(S::Dispatched, A::Close), None);
        assert_eq!(transition(S::Acknowledged, A::Close), None);
        assert_eq!(transition(S::Acknowledged, A::Reopen), None);
        assert_eq!(transition(S::Closed, A::Acknowledge), None);
        assert_eq!(transition(S::Closed, A::Close), None);
    }

    #[test]
    fn reopen_returns_to_dispatched() {
        assert_eq!(transition(S::Reported, A::Reopen), Some(S::Dispatched));
        assert_eq!(transition(S::Closed, A::Reopen), Some(S::Dispatched));
    }

    #[test]
    fn only_unreported_tasks_go_overdue() {
        assert!(is_overdue(S::Dispatched, 100, 101));
        assert!(is_overdue(S::Acknowledged, 100, 101));
        assert!(!is_overdue(S::Acknowledged, 100, 100));
        assert!(!is_overdue(S::Reported, 100, 101));
        assert!(!is_overdue(S::Closed, 100, 101));
    }

    #[test]
    fn urgent_kinds_then_overdue_then_deadline() {
        let now = 1_000;
        // (id, kind, state, due_at), in creation order.
        let tasks = [
            (1, TaskKind::Verify, S::Dispatched, 5_000),
            (2, TaskKind::Verify, S::Acknowledged, 900),
            (3, TaskKind::FeverTransfer, S::Dispatched, 8_000),
            (4, TaskKind::Help, S::Dispatched, 2_000),
            (5, TaskKind::Resample, S::Closed, 100),
            (6, TaskKind::Positive, S::Reported, 9_000),
            (7, TaskKind::Verify, S::Dispatched, 5_000),
            (8, TaskKind::TestMissed, S::Reported, 10),
        ];
        let mut sorted = tasks.to_vec();
        sorted.sort_by_key(|&(id, k, s, due)| urgency_key(k, s, due, id, now));
        let ids: Vec<i64> = sorted.iter().map(|t| t.0).collect();
        // Urgent by deadline; the overdue verify; the rest by deadline, a
        // closed urgent kind and a reported past-deadline task among them.
        assert_eq!(ids, [3, 6, 2, 8, 5, 4, 1, 7]);
        assert!(is_urgent(TaskKind::FeverTransfer, S::Acknowledged));
        assert!(!is_urgent(TaskKind::Resample, S::Closed));
        assert!(!is_urgent(TaskKind::Verify, S::Dispatched));
    }

    #[test]
    fn names_round_trip() {
        for s in [S::Dispatched, S::Acknowledged, S::Reported, S::Closed] {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
        for o in [
            Outcome::Verified,
            Outcome::NotFound,
            Outcome::Refused,
            Outcome::Moved,
            Outcome::Corrected,
            Outcome::Done,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }
}
