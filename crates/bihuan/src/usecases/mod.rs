//! Use cases: one function per thing a person or a machine does. Each runs in
//! one transaction (through `Db::write`) and is the only place state changes.

pub mod assist;
pub mod auth;
pub mod care;
pub mod checkpoints;
pub mod command;
mod control;
pub mod dashboard;
pub mod declare;
pub mod drill;
pub mod fever;
pub mod gathering;
pub mod goods;
pub mod monitoring;
pub mod pharmacy;
pub mod recovery;
pub mod regions;
pub mod risk_areas;
pub mod rolling;
pub mod rounds;
pub mod sites;
pub mod surge;
pub mod tasks;
pub mod testing;
pub mod tracing;
pub mod venues;
pub mod views;
pub mod zones;

use std::sync::Arc;

use bihuan_domain::access::Role;
use bihuan_domain::policy::Policy;
use bihuan_domain::regions::RegionCode;

use crate::clock::Clock;
use crate::crypto::Vault;
use crate::storage::Db;

/// Everything a use case needs from the outside world.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub vault: Vault,
    pub clock: Arc<dyn Clock>,
    pub policy: Arc<Policy>,
    pub notifier: Arc<dyn crate::notify::Notifier>,
    /// Every check-in in memory, for tracing; `catch_up` before each trace.
    pub stays: Arc<crate::stays::StayIndex>,
    /// 看板 and 日报: the report hour and the cache of today's tests.
    pub dashboard: dashboard::DashboardState,
    /// Login tries of unknown names, and the count of password checks.
    pub logins: Arc<auth::LoginGuard>,
    /// 代扫 tries per visitor.
    pub proxy_scans: Arc<venues::ProxyScans>,
}

/// A signed-in user, bound to one region.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub region: RegionCode,
    /// The session's CSRF token, checked on every form post.
    pub csrf: String,
}

impl Actor {
    /// The region prefix this user may see.
    pub fn scope(&self) -> &str {
        self.region.as_str()
    }
}

impl Services {
    /// Records that `actor` took data out of the system (a file, a
    /// printout) as a `kind` event, in its own transaction. Returns when,
    /// for the watermark.
    pub(crate) async fn audit_export(
        &self,
        actor: &Actor,
        kind: &'static str,
        detail: serde_json::Value,
    ) -> crate::error::Result<i64> {
        let (who, now) = (actor.username.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    crate::storage::repo::insert_event(c, now, &who, None, None, kind, &detail)
                        .await
                })
            })
            .await?;
        Ok(now)
    }
}
