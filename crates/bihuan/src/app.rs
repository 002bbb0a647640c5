//! Startup, testable: build everything from settings, bind, then serve.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bihuan_domain::policy::Policy;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::{self, Vault};
use crate::notify::{LogNotifier, WebhookNotifier};
use crate::storage::Db;
use crate::usecases::Services;
use crate::web::{self, AppState, ratelimit::RateLimiter};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// Connects, migrates, loads the city's regions and the policy.
pub async fn services(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
    let db = Db::connect(&settings.database_url).await?;
    let key = match &settings.secret_key {
        Some(hex) => crypto::parse_key(hex.trim())
            .ok_or_else(|| anyhow::anyhow!("secret_key must be 64 hex digits"))?,
        None => crypto::load_or_create_key(&settings.key_file)?,
    };
    let policy = match &settings.policy_file {
        Some(path) => Policy::from_toml(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => Policy::default_policy(),
    };
    let started = std::time::Instant::now();
    let stays = crate::stays::StayIndex::load(&db).await?;
    let st = stays.stats().await;
    tracing::info!(
        stays = st.stays,
        bytes = st.bytes,
        seconds = started.elapsed().as_secs_f64(),
        "stay index built"
    );
    let services = Services {
        db,
        stays,
        vault: Vault::new(&key),
        clock,
        policy: Arc::new(policy),
        notifier: match &settings.notify_webhook_url {
            Some(url) => Arc::new(WebhookNotifier::new(url.clone())),
            None => Arc::new(LogNotifier),
        },
        dashboard: crate::usecases::dashboard::DashboardState::new(
            settings.daily_report_hour,
            settings.dashboard_refresh_seconds,
        ),
        logins: Default::default(),
        proxy_scans: Default::default(),
    };
    let loaded = services.ensure_regions(&settings.city_code).await?;
    if loaded > 0 {
        tracing::info!(regions = loaded, city = %settings.city_code, "regions loaded");
    }
    Ok(services)
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let services = services(&settings, clock).await?;
        let listener = TcpListener::bind(&settings.listen).await?;
        let state = AppState {
            services,
            limiter: Arc::new(RateLimiter::new(settings.public_rate_limit)),
            settings: Arc::new(settings),
        };
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn services(&self) -> &Services {
        &self.state.services
    }

    /// Serves until the process is stopped, with the background sweeps.
    pub async fn run(self) -> anyhow::Result<()> {
        let sweeps = (self.state.settings.sweep_seconds > 0).then(|| {
            spawn_sweeps(
                self.state.services.clone(),
                Duration::from_secs(self.state.settings.sweep_seconds),
            )
        });
        let refresher = (self.state.settings.dashboard_refresh_seconds > 0).then(|| {
            spawn_dashboard_refresher(
                self.state.services.clone(),
                Duration::from_secs(self.state.settings.dashboard_refresh_seconds),
            )
        });
        let app = web::router(self.state);
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        for job in [sweeps, refresher].into_iter().flatten() {
            job.abort();
        }
        Ok(served?)
    }
}

/// The periodic jobs (deadline escalation, the daily obligations, missed
/// check-ins, reminder delivery). Every replica ticks; each job's period is
/// claimed in the database, so each runs once however many replicas there are.
fn spawn_sweeps(services: Services, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match services.run_jobs().await {
                Ok(r) => tracing::debug!(?r, "jobs ran"),
                Err(e) => tracing::warn!(error = %e, "jobs failed"),
            }
        }
    })
}

/// Keeps the dashboards' figures fresh while anyone watches, so a viewer
/// reads a snapshot at most one period old instead of recounting the city.
fn spawn_dashboard_refresher(services: Services, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = services.refresh_dashboards().await {
                tracing::warn!(error = %e, "dashboard refresh failed");
            }
        }
    })
}
