//! `mock-backend`: runs the mock world until Ctrl-C (or SIGTERM).

use clap::Parser;
use mock_backend::{MockWorld, MockWorldConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use wallet_core::backend::api::tsm::Topology;

/// The mock world: every back-end entity of the wallet as one HTTP server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "MOCK_BACKEND_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory for persistent state; without it the state is temporary.
    #[arg(long, env = "MOCK_BACKEND_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// How the TSM side is organised: `direct`, `convergence` or `mtps`.
    #[arg(long, env = "MOCK_BACKEND_TOPOLOGY", default_value = "direct", value_parser = parse_topology)]
    topology: Topology,
}

fn parse_topology(text: &str) -> Result<Topology, String> {
    mock_backend::tsm::topology::parse_topology(text)
        .ok_or_else(|| format!("unknown topology {text:?}: direct, convergence or mtps"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = MockWorldConfig {
        addr: args.addr,
        data_dir: args.data_dir,
        topology: args.topology,
    };
    let world = match MockWorld::start(config).await {
        Ok(world) => world,
        Err(err) => {
            eprintln!("mock-backend: {err}");
            return ExitCode::FAILURE;
        }
    };
    // The one line on stdout, so scripts can find the port when started with port 0.
    println!("listening on {}", world.url());
    wait_for_stop_signal().await;
    tracing::info!("shutting down");
    world.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
