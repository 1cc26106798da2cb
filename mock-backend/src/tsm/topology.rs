//! How the back end is organised behind `/tsm/v1`, chosen when the mock world starts
//! ([`Topology`]); the phone sees the same endpoint and the same SERAM sessions in every case.
//!
//! | topology | front (order API, SERAM) | application part | hub | SE issuer part |
//! |---|---|---|---|---|
//! | `direct` | the TSM | the TSM | — | the TSM |
//! | `convergence` | the financial TSM | the financial TSM | — | the SE issuer's TSM ("total-to-total") |
//! | `mtps` | the bank's TSM | the bank's TSM | the public service platform | the SE issuer's TSM |
//!
//! Every entity runs in this process: the application part is built by
//! [`super::app_provider`], the SE issuer part by [`super::se_issuer`], and in the MTPS
//! topology an order is only admitted once the platform ([`crate::mtps`]) routed it (provider,
//! application and SE registered). The route is recorded in each order's status.

use wallet_core::backend::api::tsm::{OrderRoute, RouteHop, Topology, TsmEntity, TsmRole};

use super::error::TsmError;
use super::se_issuer::SeContext;
use crate::mtps::{Mtps, RouteRequest, MTPS_NAME};

/// The route every order takes in `topology`.
pub fn route_of(topology: Topology) -> OrderRoute {
    let hop = |entity, role| RouteHop {
        entity,
        role,
        name: None,
    };
    let hops = match topology {
        Topology::Direct => vec![
            hop(TsmEntity::Tsm, TsmRole::Front),
            hop(TsmEntity::Tsm, TsmRole::ApplicationProvider),
            hop(TsmEntity::Tsm, TsmRole::SeIssuer),
        ],
        Topology::Convergence => vec![
            hop(TsmEntity::FinancialTsm, TsmRole::Front),
            hop(TsmEntity::FinancialTsm, TsmRole::ApplicationProvider),
            hop(TsmEntity::SeIssuerTsm, TsmRole::SeIssuer),
        ],
        Topology::Mtps => vec![
            hop(TsmEntity::ApplicationProviderTsm, TsmRole::Front),
            hop(
                TsmEntity::ApplicationProviderTsm,
                TsmRole::ApplicationProvider,
            ),
            hop(TsmEntity::Mtps, TsmRole::Hub),
            hop(TsmEntity::SeIssuerTsm, TsmRole::SeIssuer),
        ],
    };
    OrderRoute { topology, hops }
}

/// Admits an order: in the MTPS topology the platform must route it (`ROUTE_REFUSED`
/// otherwise); the other topologies connect the TSMs directly.
pub fn admit(
    topology: Topology,
    mtps: &Mtps,
    provider_name: &str,
    instance_aid: &str,
    se: &SeContext,
    se_type: &str,
    now: u64,
) -> Result<OrderRoute, TsmError> {
    let mut route = route_of(topology);
    if topology == Topology::Mtps {
        let granted = mtps
            .route(RouteRequest {
                provider_name,
                instance_aid,
                se_id: &se.se_id,
                se_type,
                kind: se.kind,
                now,
            })
            .map_err(|refusal| TsmError::RouteRefused(refusal.to_string()))?;
        tracing::info!(provider = %granted.provider, se_issuer_tsm = %granted.se_issuer_tsm, "routed through the MTPS");
        for hop in &mut route.hops {
            hop.name = Some(match hop.entity {
                TsmEntity::Mtps => MTPS_NAME.to_owned(),
                TsmEntity::SeIssuerTsm => granted.se_issuer_tsm.clone(),
                _ => granted.provider_tsm.clone(),
            });
        }
    }
    Ok(route)
}

/// Parses `direct`, `convergence` or `mtps`.
pub fn parse_topology(text: &str) -> Option<Topology> {
    match text {
        "direct" => Some(Topology::Direct),
        "convergence" => Some(Topology::Convergence),
        "mtps" => Some(Topology::Mtps),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_the_entities_of_each_topology() {
        assert_eq!(route_of(Topology::Direct).hops.len(), 3);
        assert!(route_of(Topology::Direct)
            .hops
            .iter()
            .all(|h| h.entity == TsmEntity::Tsm));
        let convergence = route_of(Topology::Convergence);
        assert_eq!(
            convergence.hops.first().map(|h| h.entity),
            Some(TsmEntity::FinancialTsm)
        );
        assert_eq!(
            convergence.hops.last().map(|h| h.entity),
            Some(TsmEntity::SeIssuerTsm)
        );
        let mtps = route_of(Topology::Mtps);
        assert!(mtps
            .hops
            .iter()
            .any(|h| (h.entity, h.role) == (TsmEntity::Mtps, TsmRole::Hub)));
        for t in [Topology::Direct, Topology::Convergence, Topology::Mtps] {
            assert_eq!(parse_topology(t.as_str()), Some(t));
        }
        assert_eq!(parse_topology("hub"), None);
    }
}
