//! `mock-backend`: runs the mock world until Ctrl-C (or SIGTERM).

use clap::Parser;
use mock_backend::fault_proxy::{FaultProxy, FaultRule};
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
    /// Serve through a fault-injecting proxy on `--addr` (the world itself then listens on a
    /// free port) and inject this fault: `KIND[@PATH_PREFIX][*TIMES]`, KIND one of `drop`,
    /// `lose-answer`, `delay-MS`, `status-CODE`, `status-after-CODE`, `truncate`, `reset`.
    /// Repeatable; e.g. `--fault lose-answer@/rps/v1/payments --fault status-503@/bank*2`.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<FaultRule>,
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
    let world_addr = if args.faults.is_empty() {
        args.addr
    } else {
        SocketAddr::new(args.addr.ip(), 0)
    };
    let config = MockWorldConfig {
        addr: world_addr,
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
    let proxy = if args.faults.is_empty() {
        None
    } else {
        match FaultProxy::start_on(args.addr, world.url()).await {
            Ok(proxy) => {
                for rule in args.faults {
                    tracing::info!(?rule, "fault armed");
                    proxy.inject(rule);
                }
                Some(proxy)
            }
            Err(err) => {
                eprintln!("mock-backend: fault proxy on {}: {err}", args.addr);
                world.shutdown().await;
                return ExitCode::FAILURE;
            }
        }
    };
    // The one line on stdout, so scripts can find the port when started with port 0.
    println!(
        "listening on {}",
        proxy.as_ref().map_or(world.url(), FaultProxy::url)
    );
    wait_for_stop_signal().await;
    tracing::info!("shutting down");
    drop(proxy);
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
