//! Orders to the TSM, the SERAM session that carries them out, and the card records.

use super::model::{card_key, PendingOrder, NS_CARDS, NS_PENDING_ORDERS};
use super::{CardError, CardState, SeCard};
use crate::apdu::{CommandApdu, Tag};
use crate::backend::api::tsm::{
    CardOperation, CardOrderRequest, OrderAccepted, OrderSecureElement, OrderState, OrderStatus,
    PATH_TSM_ORDERS,
};
use crate::backend::client::IdempotencyKey;
use crate::backend::{BackendClient, BackendError};
use crate::binding::Binder;
use crate::card::perso::parse_amount_n12;
use crate::clock::unix_now;
use crate::crypto::random;
use crate::ota::{identity, AgentConfig, LocalAgent, NoListener, OtaListener, OtaOutcome};
use crate::se::{Reader, ReaderKind, SeError, SeRoute, SeService};
use crate::store::Store;
use std::sync::Arc;

/// Opens and manages payment cards in the device's secure elements through the TSM.
#[derive(Clone)]
pub struct CardManager {
    store: Store,
    client: BackendClient,
    binder: Binder,
    se: SeService,
    agent: AgentConfig,
}

impl std::fmt::Debug for CardManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardManager").finish_non_exhaustive()
    }
}

impl CardManager {
    /// A manager over the device's SEs (`se`), signing orders with the bindings' device keys.
    pub fn new(store: Store, client: BackendClient, binder: Binder, se: SeService) -> Self {
        let agent = AgentConfig {
            // The mock world serves plain HTTP on loopback; a production back end is HTTPS.
            allow_http: client.base_url().starts_with("http://"),
            ..AgentConfig::default()
        };
        Self {
            store,
            client,
            binder,
            se,
            agent,
        }
    }

    /// Replaces the SERAM local agent's settings (tests shorten delays).
    pub fn with_agent_config(mut self, agent: AgentConfig) -> Self {
        self.agent = agent;
        self
    }

    /// Air card opening: installs and personalises the payment application for `binding_id` in
    /// the preferred SE (else eSE → SIM → SD), loading `initial_ecash_load` fen of electronic
    /// cash. Progress goes to `listener`. Safe to run again after an interruption: the outcome
    /// of the interrupted order is asked first (the TSM may have completed it), and a new order
    /// probes the SE for what the interrupted one left.
    pub async fn open_card(
        &self,
        binding_id: &str,
        preferred: Option<ReaderKind>,
        initial_ecash_load: u64,
        listener: Option<Arc<dyn OtaListener>>,
    ) -> Result<SeCard, CardError> {
        self.binder.public_key(binding_id)?; // the binding and its device key exist here
        let se = self.se.clone();
        let reader = blocking(move || match se.route(preferred)? {
            SeRoute::Se(reader) => Ok(reader),
            SeRoute::Hce => Err(CardError::NoSecureElement),
        })
        .await?;
        let target = describe(&reader).await?;
        let key = card_key(binding_id, &target.se_id);
        // An earlier opening whose outcome never reached the record (its answer was lost, the
        // app died): the TSM may well have completed it.
        if let Some((CardOperation::Open, card)) = self.settle(&key).await? {
            if card.state == CardState::Active {
                return Ok(card);
            }
        }
        let mut card = match self.store.get::<SeCard>(NS_CARDS, &key)? {
            Some(card) if matches!(card.state, CardState::Active | CardState::Locked) => {
                return Err(CardError::CardExists)
            }
            Some(card) => card,
            None => SeCard {
                binding_id: binding_id.to_owned(),
                reader: reader.name().to_owned(),
                reader_kind: reader.kind(),
                se_id: target.se_id.clone(),
                instance_aid: String::new(),
                masked_pan: String::new(),
                state: CardState::Opening,
                ecash_balance: None,
                ecash_refunded: None,
                last_order_id: String::new(),
                last_round_trips: 0,
                updated_at: unix_now(),
            },
        };
        card.state = CardState::Opening;
        let load = (initial_ecash_load > 0).then_some(initial_ecash_load);
        // The opening record is written once the TSM has accepted the order (a refused order
        // leaves nothing behind) and before the session touches the SE (an interrupted session
        // leaves an `opening` record, never an active one).
        let record_opening = || {
            self.store
                .put_durable(NS_CARDS, &key, &card)
                .map_err(CardError::from)
        };
        let ordered = self
            .run_order(
                binding_id,
                CardOperation::Open,
                &reader,
                &target,
                load,
                listener,
                record_opening,
                None,
            )
            .await;
        let (status, outcome) = match ordered {
            // The earlier opening may have completed at the TSM after `settle` asked (its last
            // report was still being processed): ask again.
            Err(CardError::CardExists) => {
                return match self.settle(&key).await? {
                    Some((CardOperation::Open, card)) if card.state == CardState::Active => {
                        Ok(card)
                    }
                    _ => Err(CardError::CardExists),
                }
            }
            other => other?,
        };
        self.finish(card, status, outcome)
    }

    /// Locks the card (the TSM sets its application life cycle to locked). Like every life-cycle
    /// operation, safe to repeat after an interruption: an earlier order's outcome is learnt
    /// first. From the TSM's acceptance of a lock or a deletion until its confirmation, the card
    /// reads [`CardState::Locked`] (not usable: the SE may already have carried it out).
    pub async fn lock_card(&self, binding_id: &str, se_id: &str) -> Result<SeCard, CardError> {
        self.manage(binding_id, se_id, CardOperation::Lock).await
    }

    /// Unlocks a locked card.
    pub async fn unlock_card(&self, binding_id: &str, se_id: &str) -> Result<SeCard, CardError> {
        self.manage(binding_id, se_id, CardOperation::Unlock).await
    }

    /// Deletes the card from the SE. The TSM reads the card's electronic cash first and, once
    /// the SE confirmed the deletion, the issuer credits it back to the account: the answer's
    /// [`SeCard::ecash_refunded`]. A card whose balance cannot be read (a locked one) is not
    /// deleted: [`CardError::OrderFailed`] with code `ECASH_UNREADABLE` (unlock it first).
    pub async fn delete_card(&self, binding_id: &str, se_id: &str) -> Result<SeCard, CardError> {
        self.manage(binding_id, se_id, CardOperation::Delete).await
    }

    /// Asks the TSM to read the card's state and balance from the SE.
    pub async fn card_status(&self, binding_id: &str, se_id: &str) -> Result<SeCard, CardError> {
        self.manage(binding_id, se_id, CardOperation::Status).await
    }

    /// The cards this wallet knows, in key order.
    pub fn cards(&self) -> Result<Vec<SeCard>, CardError> {
        Ok(self
            .store
            .list::<SeCard>(NS_CARDS)?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    /// Reads the electronic cash balance (tag 9F79) straight from the card's application in the
    /// SE, without the network; updates the record.
    pub async fn ecash_balance(&self, binding_id: &str, se_id: &str) -> Result<u64, CardError> {
        let key = card_key(binding_id, se_id);
        let mut card: SeCard = self
            .store
            .get(NS_CARDS, &key)?
            .ok_or(CardError::CardNotFound)?;
        if card.state != CardState::Active {
            return Err(CardError::InvalidState(format!(
                "the card is {:?}",
                card.state
            )));
        }
        let aid = hex::decode(&card.instance_aid)
            .map_err(|_| CardError::InvalidState("no instance AID recorded".into()))?;
        let se = self.se.clone();
        let reader_name = card.reader.clone();
        let balance = blocking(move || -> Result<u64, CardError> {
            let reader = se.reader(&reader_name)?;
            let session = reader.open_session()?;
            let channel = session.open_logical_channel(Some(&aid), 0x00)?;
            let tag = Tag::new(0x9F79).map_err(|_| SeError::Platform {
                message: "tag".into(),
            })?;
            let command = CommandApdu::get_data(tag).map_err(|_| SeError::Platform {
                message: "GET DATA".into(),
            })?;
            let response = channel.transmit(&command)?;
            if !response.sw.is_success() {
                return Err(SeError::UnexpectedStatus { sw: response.sw.0 }.into());
            }
            let value = match crate::apdu::tlv::find(&response.data, tag) {
                Ok(Some(object)) => object.value().to_vec(),
                _ => response.data.clone(),
            };
            parse_amount_n12(&value).map_err(|e| CardError::InvalidState(e.to_string()))
        })
        .await?;
        card.ecash_balance = Some(balance);
        card.updated_at = unix_now();
        self.store.put(NS_CARDS, &key, &card)?;
        Ok(balance)
    }

    async fn manage(
        &self,
        binding_id: &str,
        se_id: &str,
        operation: CardOperation,
    ) -> Result<SeCard, CardError> {
        let key = card_key(binding_id, se_id);
        // The same operation, already completed by the TSM (the answer got lost): done.
        if let Some((done, card)) = self.settle(&key).await? {
            if done == operation {
                return Ok(card);
            }
        }
        let card: SeCard = self
            .store
            .get(NS_CARDS, &key)?
            .ok_or(CardError::CardNotFound)?;
        let se = self.se.clone();
        let reader_name = card.reader.clone();
        let reader = blocking(move || Ok::<_, CardError>(se.reader(&reader_name)?)).await?;
        let target = describe(&reader).await?;
        // A lock or a deletion may reach the SE before its outcome reaches this record (the
        // answer lost, the app killed): from acceptance on, the card is not offered for payment.
        let marks = matches!(operation, CardOperation::Lock | CardOperation::Delete)
            && card.state == CardState::Active;
        let mark = || {
            if marks {
                let mut marked = card.clone();
                marked.state = CardState::Locked;
                marked.updated_at = unix_now();
                self.store.put_durable(NS_CARDS, &key, &marked)?;
            }
            Ok(())
        };
        let prior = marks.then_some(card.state);
        let ordered = self
            .run_order(
                binding_id, operation, &reader, &target, None, None, mark, prior,
            )
            .await;
        let (status, outcome) = match ordered {
            // Refused for the card's state: the same operation, interrupted earlier, may have
            // completed at the TSM since `settle` asked.
            Err(e @ (CardError::InvalidState(_) | CardError::CardNotFound)) => {
                return match self.settle(&key).await? {
                    Some((done, card)) if done == operation => Ok(card),
                    _ => Err(e),
                }
            }
            other => other?,
        };
        self.finish(card, status, outcome)
    }

    /// Applies the outcome of the card's [`PendingOrder`], if any, to its record: returns the
    /// order's operation and the card when the TSM completed it. A failed or unknown order is
    /// forgotten; one still pending is kept (a new order supersedes it). Network failures are
    /// errors: the caller cannot tell yet whether ordering again is right.
    async fn settle(&self, key: &str) -> Result<Option<(CardOperation, SeCard)>, CardError> {
        let Some(pending) = self.store.get::<PendingOrder>(NS_PENDING_ORDERS, key)? else {
            return Ok(None);
        };
        let path = format!("{PATH_TSM_ORDERS}/{}", pending.order_id);
        let status: OrderStatus = match self.client.get(&path).await {
            Ok(status) => status,
            Err(BackendError::Rejected { status, .. }) if (400..500).contains(&status) => {
                tracing::warn!(status, "the TSM does not know the pending order; forgotten");
                self.store.remove(NS_PENDING_ORDERS, key)?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        match status.status {
            OrderState::Pending => Ok(None),
            OrderState::Failed => {
                if let (Some(prior), Some(mut card)) = (
                    pending.prior_state,
                    self.store.get::<SeCard>(NS_CARDS, key)?,
                ) {
                    card.state = prior;
                    card.updated_at = unix_now();
                    self.store.put_durable(NS_CARDS, key, &card)?;
                }
                self.store.remove(NS_PENDING_ORDERS, key)?;
                Ok(None)
            }
            OrderState::Completed => {
                let Some(mut card) = self.store.get::<SeCard>(NS_CARDS, key)? else {
                    self.store.remove(NS_PENDING_ORDERS, key)?;
                    return Ok(None);
                };
                if let Some(tsm_card) = &status.card {
                    card.apply(tsm_card);
                }
                card.last_order_id = status.order_id;
                card.updated_at = unix_now();
                self.store.put_durable(NS_CARDS, key, &card)?;
                self.store.remove(NS_PENDING_ORDERS, key)?;
                tracing::info!(operation = ?pending.operation, "outcome of an interrupted order recorded");
                Ok(Some((pending.operation, card)))
            }
        }
    }

    /// Places the order, records it as pending (with the card's `prior` state if `on_accepted`
    /// marks the card), calls `on_accepted`, runs the order's SERAM session, and fetches how it
    /// ended.
    #[allow(clippy::too_many_arguments)]
    async fn run_order(
        &self,
        binding_id: &str,
        operation: CardOperation,
        reader: &Reader,
        target: &OrderSecureElement,
        initial_ecash_load: Option<u64>,
        listener: Option<Arc<dyn OtaListener>>,
        on_accepted: impl FnOnce() -> Result<(), CardError>,
        prior: Option<CardState>,
    ) -> Result<(OrderStatus, OtaOutcome), CardError> {
        let mut request = CardOrderRequest {
            binding_id: binding_id.to_owned(),
            operation,
            se: target.clone(),
            initial_ecash_load,
            timestamp: unix_now(),
            nonce: random::hex_id(16)?,
            signature: String::new(),
        };
        request.signature = hex::encode(self.binder.sign(binding_id, &request.signing_message())?);
        let accepted: OrderAccepted = self
            .client
            .post(PATH_TSM_ORDERS, &request, &IdempotencyKey::generate()?)
            .await?;
        tracing::info!(order = %accepted.order_id, ?operation, "TSM order accepted");
        let key = card_key(binding_id, &target.se_id);
        // An earlier order's mark stays what a failure restores.
        let earlier = self.store.get::<PendingOrder>(NS_PENDING_ORDERS, &key)?;
        let pending = PendingOrder {
            order_id: accepted.order_id.clone(),
            operation,
            prior_state: earlier.and_then(|p| p.prior_state).or(prior),
        };
        self.store.put_durable(NS_PENDING_ORDERS, &key, &pending)?;
        on_accepted()?;

        let mut config = self.agent.clone();
        config.preferred_kind = reader.kind();
        config.se_identities = vec![(reader.name().to_owned(), target.to_seram())];
        let agent = LocalAgent::new(self.se.clone(), config)
            .with_listener(listener.unwrap_or_else(|| Arc::new(NoListener)));
        let endpoint = absolute(self.client.base_url(), &accepted.ra_endpoint);
        let outcome = agent.run(&endpoint, &accepted.session_id).await?;

        let status: OrderStatus = self
            .client
            .get(&format!("{PATH_TSM_ORDERS}/{}", accepted.order_id))
            .await?;
        Ok((status, outcome))
    }

    /// Records what the TSM says about the order's card.
    fn finish(
        &self,
        mut card: SeCard,
        status: OrderStatus,
        outcome: OtaOutcome,
    ) -> Result<SeCard, CardError> {
        card.last_order_id = status.order_id.clone();
        card.last_round_trips = outcome.round_trips;
        card.updated_at = unix_now();
        let key = card_key(&card.binding_id, &card.se_id);
        match status.status {
            OrderState::Completed => {
                if let Some(tsm_card) = &status.card {
                    card.apply(tsm_card);
                }
                self.store.put_durable(NS_CARDS, &key, &card)?;
                self.store.remove(NS_PENDING_ORDERS, &key)?;
                Ok(card)
            }
            OrderState::Failed | OrderState::Pending => {
                // Failed: the card is as it was before the order (or the earliest order whose
                // mark is still on it). Unconfirmed: the record stays as marked, the order
                // pending.
                if status.status == OrderState::Failed {
                    let pending = self.store.get::<PendingOrder>(NS_PENDING_ORDERS, &key)?;
                    if let Some(prior) = pending.and_then(|p| p.prior_state) {
                        card.state = prior;
                    }
                    self.store.put_durable(NS_CARDS, &key, &card)?;
                    self.store.remove(NS_PENDING_ORDERS, &key)?;
                }
                let failure =
                    status
                        .failure
                        .unwrap_or_else(|| crate::backend::api::tsm::OrderFailure {
                            code: "PENDING".into(),
                            message: "the TSM has not confirmed the order".into(),
                        });
                Err(CardError::OrderFailed {
                    code: failure.code,
                    message: failure.message,
                })
            }
        }
    }
}

/// The SERAM identity of the SE in `reader` (talks to the SE: off the async runtime).
async fn describe(reader: &Reader) -> Result<OrderSecureElement, CardError> {
    let reader = reader.clone();
    blocking(move || Ok::<_, CardError>(OrderSecureElement::from(&identity::describe(&reader))))
        .await
}

/// `ra_endpoint` made absolute against the back end's base URL.
fn absolute(base_url: &str, ra_endpoint: &str) -> String {
    if ra_endpoint.starts_with("http://") || ra_endpoint.starts_with("https://") {
        return ra_endpoint.to_owned();
    }
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        ra_endpoint.trim_start_matches('/')
    )
}

/// Runs SE work (blocking platform calls) off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CardError> + Send + 'static,
) -> Result<T, CardError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        CardError::Se(SeError::Platform {
            message: format!("SE worker failed: {e}"),
        })
    })?
}
