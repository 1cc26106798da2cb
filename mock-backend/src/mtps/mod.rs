//! The public service platform (MTPS): the trusted hub between application providers' TSMs and
//! SE issuers' TSMs in the MTPS topology.
//!
//! It keeps the [`registry`] of institutions, applications and secure elements, and routes:
//! an application provider's TSM that needs the SE issuer part of a script (issuer security
//! domain authentication, supplementary security domain creation) asks the platform, which
//! checks that the provider, the application and the SE are registered (the SE issuer's TSM
//! registers its SEs on first use) and names the SE issuer's TSM that does the work. In the
//! mock world every TSM runs in this process, so a route is a registry decision plus a record
//! in the order's route ([`wallet_core::backend::api::tsm::OrderRoute`]).
//!
//! `GET /mtps/v1/registry` shows the registry ([`RegistrySnapshot`]).

pub mod registry;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::atomic::{AtomicU64, Ordering};
use wallet_core::se::ReaderKind;

use crate::persist::{Store, StoreError};
use crate::state::AppState;
use crate::ApiError;
use registry::{se_issuer_of, RegisteredSe};
pub use registry::{Registry, RegistrySnapshot};

/// The platform's own name in order routes.
pub const MTPS_NAME: &str = "mtps";

/// Path of the registry view.
pub const PATH_MTPS_REGISTRY: &str = "/mtps/v1/registry";

/// What an application provider's TSM asks the platform to route.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    /// The bank (application provider) by name, as on the account.
    pub provider_name: &'a str,
    /// The application instance AID (uppercase hex).
    pub instance_aid: &'a str,
    /// SERAM `seId`.
    pub se_id: &'a str,
    /// SERAM `seType`.
    pub se_type: &'a str,
    /// The SE kind.
    pub kind: ReaderKind,
    /// Unix time.
    pub now: u64,
}

/// A granted route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The application provider's institution id.
    pub provider: String,
    /// The application provider's TSM.
    pub provider_tsm: String,
    /// The SE issuer's institution id.
    pub se_issuer: String,
    /// The SE issuer's TSM.
    pub se_issuer_tsm: String,
}

/// Why the platform refused a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteRefusal {
    /// The bank is not a registered application provider.
    #[error("application provider {0:?} is not registered with the public service platform")]
    UnknownProvider(String),
    /// The application is not registered.
    #[error("application {0} is not registered with the public service platform")]
    UnknownApplication(String),
    /// The registry could not be read or written.
    #[error("registry unavailable: {0}")]
    Registry(String),
}

impl From<StoreError> for RouteRefusal {
    fn from(err: StoreError) -> RouteRefusal {
        RouteRefusal::Registry(err.to_string())
    }
}

/// The public service platform.
#[derive(Debug)]
pub struct Mtps {
    registry: Registry,
    routed: AtomicU64,
}

impl Mtps {
    /// The platform with its registry in `store`.
    pub fn open(store: &Store) -> Result<Mtps, StoreError> {
        Ok(Mtps {
            registry: Registry::open(store)?,
            routed: AtomicU64::new(0),
        })
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// How many orders the platform has routed since start.
    pub fn routed(&self) -> u64 {
        self.routed.load(Ordering::Relaxed)
    }

    /// Routes an application provider's request to the SE issuer's TSM of the SE, registering
    /// the SE on the SE issuer's behalf the first time.
    pub fn route(&self, request: RouteRequest<'_>) -> Result<Route, RouteRefusal> {
        let provider = self
            .registry
            .provider(request.provider_name)
            .ok_or_else(|| RouteRefusal::UnknownProvider(request.provider_name.to_owned()))?;
        if self.registry.application(request.instance_aid).is_none() {
            return Err(RouteRefusal::UnknownApplication(
                request.instance_aid.to_owned(),
            ));
        }
        let se_issuer = se_issuer_of(request.kind);
        self.registry.register_se(&RegisteredSe {
            se_id: request.se_id.to_ascii_uppercase(),
            se_type: request.se_type.to_owned(),
            issuer: se_issuer.to_owned(),
            registered_at: request.now,
        })?;
        let se_issuer_tsm = self
            .registry
            .institution(se_issuer)
            .map(|i| i.tsm.clone())
            .unwrap_or_else(|| format!("{se_issuer}-tsm"));
        self.routed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(provider = %provider.id, %se_issuer, "MTPS routed an order");
        Ok(Route {
            provider: provider.id.clone(),
            provider_tsm: provider.tsm.clone(),
            se_issuer: se_issuer.to_owned(),
            se_issuer_tsm,
        })
    }
}

/// The platform's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(PATH_MTPS_REGISTRY, get(registry_view))
}

/// `GET /mtps/v1/registry`
async fn registry_view(State(state): State<AppState>) -> Result<Json<RegistrySnapshot>, ApiError> {
    Ok(Json(state.tsm().mtps().registry().snapshot()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(provider_name: &'a str, instance_aid: &'a str) -> RouteRequest<'a> {
        RouteRequest {
            provider_name,
            instance_aid,
            se_id: "0a0b0c0d0e0f10111213",
            se_type: "uicc",
            kind: ReaderKind::Sim,
            now: 5,
        }
    }

    #[test]
    fn routes_registered_providers_and_registers_the_se() -> Result<(), StoreError> {
        let store = Store::open(None)?;
        let mtps = Mtps::open(&store)?;
        let route = mtps.route(request("招商银行", "A000000333010102")).unwrap();
        assert_eq!(route.se_issuer, "se-issuer-operator");
        assert_eq!(route.se_issuer_tsm, "se-issuer-operator-tsm");
        assert_eq!(
            mtps.registry()
                .se("0A0B0C0D0E0F10111213")?
                .map(|s| s.issuer),
            Some("se-issuer-operator".to_owned())
        );
        assert_eq!(mtps.routed(), 1);
        assert!(matches!(
            mtps.route(request("Nowhere Bank", "A000000333010102")),
            Err(RouteRefusal::UnknownProvider(_))
        ));
        assert!(matches!(
            mtps.route(request("招商银行", "A0000003330101FF")),
            Err(RouteRefusal::UnknownApplication(_))
        ));
        Ok(())
    }
}
