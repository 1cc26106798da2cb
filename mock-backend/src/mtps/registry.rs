//! The public service platform's registry: the institutions it trusts (banks as application
//! providers, SE issuers with their TSMs), the applications it lets them manage and the secure
//! elements it knows.
//!
//! Institutions and applications are fixed for the mock world (one bank per test card issuer,
//! one SE issuer per SE kind, the four UnionPay payment applications). Secure elements are
//! registered by their SE issuer's TSM the first time an order names them (persisted in sled,
//! table `mtps.secure_elements`).

use serde::{Deserialize, Serialize};
use wallet_core::card::aids;
use wallet_core::se::ReaderKind;

use crate::bank::test_cards;
use crate::persist::{Store, StoreError, Table};

/// What an institution does on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionRole {
    /// A bank: provides payment applications through its TSM.
    ApplicationProvider,
    /// Issues secure elements and manages their issuer security domains through its TSM.
    SeIssuer,
}

/// A registered institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    /// Identifier on the platform.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: InstitutionRole,
    /// Identifier of its TSM.
    pub tsm: String,
}

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Instance AID, uppercase hex.
    pub aid: String,
    /// Load file AID, uppercase hex.
    pub load_file: String,
    /// Product name.
    pub name: String,
}

/// A registered secure element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredSe {
    /// SERAM `seId`.
    pub se_id: String,
    /// SERAM `seType`.
    pub se_type: String,
    /// The SE issuer's institution id.
    pub issuer: String,
    /// Unix time it was registered.
    pub registered_at: u64,
}

/// The registry as `GET /mtps/v1/registry` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySnapshot {
    /// Institutions.
    pub institutions: Vec<Institution>,
    /// Applications.
    pub applications: Vec<Application>,
    /// Secure elements registered so far.
    pub secure_elements: Vec<RegisteredSe>,
}

/// The registry.
#[derive(Debug)]
pub struct Registry {
    institutions: Vec<Institution>,
    applications: Vec<Application>,
    ses: Table<RegisteredSe>,
}

/// The platform id of the SE issuer of SEs of `kind`.
pub const fn se_issuer_of(kind: ReaderKind) -> &'static str {
    match kind {
        ReaderKind::Ese => "se-issuer-handset",
        ReaderKind::Sim => "se-issuer-operator",
        ReaderKind::Sd => "se-issuer-microsd",
    }
}

impl Registry {
    /// The registry in `store`, with the mock world's institutions and applications.
    pub fn open(store: &Store) -> Result<Registry, StoreError> {
        let mut institutions: Vec<Institution> = Vec::new();
        for card in &test_cards::ALL {
            if institutions.iter().all(|i| i.name != card.issuer_name) {
                let id = format!("bank-{}", institutions.len() + 1);
                institutions.push(Institution {
                    tsm: format!("{id}-tsm"),
                    id,
                    name: card.issuer_name.to_owned(),
                    role: InstitutionRole::ApplicationProvider,
                });
            }
        }
        for (kind, name) in [
            (ReaderKind::Ese, "Handset maker (eSE)"),
            (ReaderKind::Sim, "Mobile operator (SIM)"),
            (ReaderKind::Sd, "microSD issuer"),
        ] {
            let id = se_issuer_of(kind);
            institutions.push(Institution {
                id: id.to_owned(),
                name: name.to_owned(),
                role: InstitutionRole::SeIssuer,
                tsm: format!("{id}-tsm"),
            });
        }
        let load_file = hex::encode_upper(aids::PAYMENT_LOAD_FILE);
        let applications = [
            (aids::DEBIT, "UnionPay debit"),
            (aids::CREDIT, "UnionPay credit"),
            (aids::QUASI_CREDIT, "UnionPay quasi-credit"),
            (aids::E_CASH, "UnionPay electronic cash"),
        ]
        .into_iter()
        .map(|(aid, name)| Application {
            aid: hex::encode_upper(aid),
            load_file: load_file.clone(),
            name: name.to_owned(),
        })
        .collect();
        Ok(Registry {
            institutions,
            applications,
            ses: store.table("mtps.secure_elements")?,
        })
    }

    /// The application provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&Institution> {
        self.institutions
            .iter()
            .find(|i| i.role == InstitutionRole::ApplicationProvider && i.name == name)
    }

    /// The institution `id`.
    pub fn institution(&self, id: &str) -> Option<&Institution> {
        self.institutions.iter().find(|i| i.id == id)
    }

    /// The application with instance AID `aid` (hex, any case).
    pub fn application(&self, aid: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.aid.eq_ignore_ascii_case(aid))
    }

    /// The registered SE `se_id`.
    pub fn se(&self, se_id: &str) -> Result<Option<RegisteredSe>, StoreError> {
        self.ses.get(se_id.to_ascii_uppercase())
    }

    /// Registers an SE (its issuer's TSM vouches for it); keeps an earlier registration.
    pub fn register_se(&self, se: &RegisteredSe) -> Result<(), StoreError> {
        self.ses.put_if_absent(se.se_id.to_ascii_uppercase(), se)?;
        Ok(())
    }

    /// Everything, for inspection.
    pub fn snapshot(&self) -> Result<RegistrySnapshot, StoreError> {
        Ok(RegistrySnapshot {
            institutions: self.institutions.clone(),
            applications: self.applications.clone(),
            secure_elements: self.ses.scan_prefix("")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_with_banks_se_issuers_and_applications() -> Result<(), StoreError> {
        let store = Store::open(None)?;
        let registry = Registry::open(&store)?;
        let icbc = registry.provider("中国工商银行").map(|i| i.id.clone());
        assert_eq!(icbc.as_deref(), Some("bank-1"));
        assert!(registry.provider("No Such Bank").is_none());
        assert_eq!(
            registry
                .institution(se_issuer_of(ReaderKind::Sim))
                .map(|i| i.role),
            Some(InstitutionRole::SeIssuer)
        );
        assert!(registry.application("a000000333010106").is_some());
        assert!(registry.application("A000000333010199").is_none());
        let se = RegisteredSe {
            se_id: "0a0b".into(),
            se_type: "eSE".into(),
            issuer: "se-issuer-handset".into(),
            registered_at: 1,
        };
        registry.register_se(&se)?;
        registry.register_se(&RegisteredSe {
            registered_at: 2,
            ..se.clone()
        })?;
        assert_eq!(registry.se("0A0B")?.map(|s| s.registered_at), Some(1));
        assert_eq!(registry.snapshot()?.secure_elements.len(), 1);
        Ok(())
    }
}
