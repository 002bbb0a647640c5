//! Startup, testable: build everything from settings, bind, then serve.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bihuan_domain::policy::Policy;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::{self, Vault};
use crate::notify::{AbsoluteLinks, LogNotifier, WebhookNotifier};
use crate::storage::Db;
use crate::usecases::Services;
use crate::web::ratelimit::{RateLimiter, TrustedProxies};
use crate::web::{self, AppState};

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
        notifier: Arc::new(AbsoluteLinks::new(
            &settings.public_base_url,
            match &settings.notify_webhook_url {
                Some(url) => Arc::new(WebhookNotifier::new(url.clone())),
                None => Arc::new(LogNotifier),
            },
        )),
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
        TrustedProxies::parse(&settings.trusted_proxies)?;
        let services = services(&settings, clock).await?;
        let listener = TcpListener::bind(&settings.listen).await?;
        let state = AppState {
            services,
            limiter: Arc::new(RateLimiter::new(settings.public_rate_limit)),
            shedder: Arc::new(crate::web::shed::Shedder::new(
                settings.public_concurrency,
                settings.staff_concurrency,
                settings.machine_concurrency,
            )),
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
        let limits = ConnectionLimits {
            max_connections: self.state.settings.max_connections.max(1),
            header_read_timeout: Duration::from_secs(
                self.state.settings.header_read_timeout_seconds.max(1),
            ),
        };
        let trusted = TrustedProxies::parse(&self.state.settings.trusted_proxies)?;
        let app = web::router(self.state);
        let served = serve(self.listener, app, limits, trusted, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        for job in [sweeps, refresher].into_iter().flatten() {
            job.abort();
        }
        Ok(served?)
    }
}

/// What one client may hold of the server: a connection must send its
/// request head within `header_read_timeout` (also between requests on a
/// kept-alive connection), and at most `max_connections` are served at once;
/// more wait in the listen backlog, so idle sockets cannot use up the
/// process's descriptors and starve `/healthz`.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// The accept loop: HTTP/1 with a header-read timeout, a cap on open
/// connections, and each request told its client's address (`ConnectInfo`:
/// the peer, or behind a trusted proxy the client it names).
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    trusted: TrustedProxies,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    // Dropped at shutdown: every connection then finishes its request in
    // flight and closes.
    let (stop, stopping) = tokio::sync::watch::channel(());
    loop {
        let permit = tokio::select! {
            p = open.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors and the like: wait, then go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, trusted) = (app.clone(), trusted.clone());
        let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
            let client = SocketAddr::new(trusted.client(peer.ip(), req.headers()), peer.port());
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(client));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(permit);
        });
    }
    drop(stop);
    drop(listener);
    // Requests in flight get the request timeout to finish.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(30), open.acquire_many(all)).await;
    Ok(())
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
