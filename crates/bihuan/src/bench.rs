//! `bihuan bench …`: throughput measured against a fresh database.

use clap::Subcommand;

use crate::config::Settings;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Post declarations over HTTP from many concurrent clients.
    Intake {
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value_t = 20000)]
        requests: usize,
    },
}

pub async fn run(_cmd: BenchCommand, _settings: &Settings) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
