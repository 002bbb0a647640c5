//! Roles and what each may do. Every user is bound to one managed region and
//! sees only what lies inside it.

use serde::{Deserialize, Serialize};

use crate::regions::RegionLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 指挥部: the whole city.
    Command,
    /// 镇街: one town, street or zone.
    Town,
    /// 村社区: one village or community.
    Village,
    /// 网格员: one grid.
    GridWorker,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Command, Role::Town, Role::Village, Role::GridWorker];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Command => "command",
            Role::Town => "town",
            Role::Village => "village",
            Role::GridWorker => "grid_worker",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Command => "指挥部",
            Role::Town => "镇街",
            Role::Village => "村社区",
            Role::GridWorker => "网格员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::Command => "command",
            Role::Town => "town/street",
            Role::Village => "village/community",
            Role::GridWorker => "grid worker",
        }
    }

    /// The level of region a user of this role is bound to.
    pub fn region_level(self) -> RegionLevel {
        match self {
            Role::Command => RegionLevel::City,
            Role::Town => RegionLevel::Town,
            Role::Village => RegionLevel::Village,
            Role::GridWorker => RegionLevel::Grid,
        }
    }

    /// Reviewing (办结, 退回) is for the levels above the grid.
    pub fn can_review(self) -> bool {
        !matches!(self, Role::GridWorker)
    }

    /// Who may see identity numbers and phones unmasked (each view is audited):
    /// the grid worker who calls the person, the village that verifies, and
    /// the command. Towns supervise counts and queues, and see masks.
    pub fn can_unmask(self) -> bool {
        !matches!(self, Role::Town)
    }

    /// Only the command publishes risk areas (不得层层加码).
    pub fn can_manage_risk_areas(self) -> bool {
        matches!(self, Role::Command)
    }

    /// 协查 lists come down to the command and the towns: they import them,
    /// route the rows nobody could place, and export the answers back with
    /// full identity numbers (the sender matches on them; each export is
    /// audited).
    pub fn can_handle_assist_lists(self) -> bool {
        matches!(self, Role::Command | Role::Town)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_bind_to_levels() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::GridWorker.region_level(), RegionLevel::Grid);
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn only_the_command_publishes_and_grid_workers_do_not_review() {
        assert!(Role::Command.can_manage_risk_areas());
        assert!(!Role::Town.can_manage_risk_areas());
        assert!(!Role::GridWorker.can_review());
        assert!(Role::Village.can_review());
        assert!(!Role::Town.can_unmask());
    }
}
