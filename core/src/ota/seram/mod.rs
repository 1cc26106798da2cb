//! GP SERAM wire format (`specs/gp-seram/gpseram.yaml`, OpenAPI 3.0.3, GP SERAM 2.0.0): the one
//! home of the messages exchanged by the local agent (this crate's [`super::agent`]) and the
//! remote agent (the mock TSM). JSON field names, casing, enums and optionality follow the
//! schemas; [`validate`] adds the size limits and hex rules both sides check.
//!
//! Endpoints (HTTP REST binding, relative to the RA endpoint, by default `…/gp/seram`), both
//! `POST` with the query parameter `sessionId`:
//! - [`PATH_HANDSHAKE`]: [`HandshakeCommand`] → `200` [`HandshakeResponse`], `404` unknown
//!   session, `406` proposal not acceptable, `500`.
//! - [`PATH_REMOTE_MANAGEMENT`]: [`RemoteManagementReport`] → `200` [`RemoteManagementOrder`],
//!   `404` unknown session, `500`.
//!
//! Where the spec contradicts itself (see the report of this module's author and the tests):
//! - `ramCommandType` of Start / Stop: the discriminator mapping says `ramStartCommand` /
//!   `ramStopCommand`, the examples say `startCommand` / `stopCommand`. The mapping is emitted;
//!   both are accepted.
//! - Handshake request example spells `supportedVersion`; the schema `supportedVersions`. The
//!   schema name is emitted; both are accepted.
//! - Handshake response `required` lists `chosenDataProtocol`, the property is
//!   `chosenDataFormat`. `chosenDataFormat` is emitted; both are accepted; absent means
//!   `application/json` (the only data format, and the request's default).

pub mod validate;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use validate::{
    decode_apdu, decode_capdu, encode_apdu, is_canonical_apdu, validate_session_id, WireError,
};

/// Base path of the remote agent in the spec's `servers` entry (`{protocol}://{domain}/gp/seram`).
pub const DEFAULT_BASE_PATH: &str = "/gp/seram";
/// Handshake endpoint, relative to the RA endpoint.
pub const PATH_HANDSHAKE: &str = "/handshake";
/// Command exchange endpoint, relative to the RA endpoint.
pub const PATH_REMOTE_MANAGEMENT: &str = "/remoteManagement";
/// Query parameter carrying the session id on every request.
pub const SESSION_ID_PARAM: &str = "sessionId";
/// The GP SERAM version this implementation speaks.
pub const VERSION_2_0_0: &str = "2.0.0";
/// Polling delay when an order carries none (`remoteManagementOrder.delay` default, in ms).
pub const DEFAULT_DELAY_MS: u64 = 100;

/// `transportProtocol`: how messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransportProtocol {
    /// `HTTPS`.
    #[serde(rename = "HTTPS")]
    Https,
}

/// `dataFormat`: how messages are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataFormat {
    /// `application/json`.
    #[serde(rename = "application/json")]
    Json,
}

/// `seType`: the type of a secure element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SeType {
    /// `eSE`: embedded SE.
    #[serde(rename = "eSE")]
    Ese,
    /// `iSE`: integrated SE.
    #[serde(rename = "iSE")]
    Ise,
    /// `uicc`: SIM card.
    #[serde(rename = "uicc")]
    Uicc,
    /// `euicc`: embedded UICC.
    #[serde(rename = "euicc")]
    Euicc,
    /// `ieuicc`: integrated eUICC.
    #[serde(rename = "ieuicc")]
    Ieuicc,
    /// `undefined`: any other SE (e.g. a secure microSD card).
    #[serde(rename = "undefined")]
    Undefined,
}

/// `secureElement`: an SE the local agent can reach.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecureElement {
    /// `seType` (required).
    pub se_type: SeType,
    /// `seId` (required): identifier of the SE.
    pub se_id: String,
    /// `seExtraInfo`: comma-separated features of the SE (e.g. `SAM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_extra_info: Option<String>,
}

/// `ramHandshakeCommand`: the local agent's proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeCommand {
    /// `secureElements` (required): SEs the remote agent may target, by preference.
    pub secure_elements: Vec<SecureElement>,
    /// `supportedTransportProtocols`; absent (empty) means `HTTPS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_transport_protocols: Vec<TransportProtocol>,
    /// `supportedDataFormats`; absent (empty) means `application/json`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_data_formats: Vec<DataFormat>,
    /// `supportedVersions` (`supportedVersion` in the spec's example is accepted); absent
    /// (empty) means `2.0.0`.
    #[serde(
        default,
        alias = "supportedVersion",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub supported_versions: Vec<String>,
}

impl HandshakeCommand {
    /// The proposal of this implementation: HTTPS, JSON, version 2.0.0, for `secure_elements`.
    pub fn proposal(secure_elements: Vec<SecureElement>) -> HandshakeCommand {
        HandshakeCommand {
            secure_elements,
            supported_transport_protocols: vec![TransportProtocol::Https],
            supported_data_formats: vec![DataFormat::Json],
            supported_versions: vec![VERSION_2_0_0.to_owned()],
        }
    }

    /// The transport protocols proposed, with the spec's default applied.
    pub fn transport_protocols(&self) -> Vec<TransportProtocol> {
        or_default(
            &self.supported_transport_protocols,
            TransportProtocol::Https,
        )
    }

    /// The data formats proposed, with the spec's default applied.
    pub fn data_formats(&self) -> Vec<DataFormat> {
        or_default(&self.supported_data_formats, DataFormat::Json)
    }

    /// The versions proposed, with the spec's default applied.
    pub fn versions(&self) -> Vec<String> {
        or_default(&self.supported_versions, VERSION_2_0_0.to_owned())
    }
}

fn or_default<T: Clone>(list: &[T], default: T) -> Vec<T> {
    if list.is_empty() {
        vec![default]
    } else {
        list.to_vec()
    }
}

/// `ramHandshakeResponse`: the remote agent's selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeResponse {
    /// `chosenTransportProtocol` (required).
    pub chosen_transport_protocol: TransportProtocol,
    /// `chosenDataFormat` (`chosenDataProtocol` accepted); absent means `application/json`.
    #[serde(
        default,
        alias = "chosenDataProtocol",
        skip_serializing_if = "Option::is_none"
    )]
    pub chosen_data_format: Option<DataFormat>,
    /// `chosenVersion` (required).
    pub chosen_version: String,
}

/// `remoteManagementOrder`: what the remote agent answers to each report. All fields optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteManagementOrder {
    /// `delay`: milliseconds to wait before the next request; absent means
    /// [`DEFAULT_DELAY_MS`], `0` no delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u64>,
    /// `chosenSecureElement`: the SE C-APDUs go to from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_secure_element: Option<SecureElement>,
    /// `ramCommands`: commands to execute one by one (absent when empty: the spec requires at
    /// least one when present).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ram_commands: Vec<RamCommand>,
}

impl RemoteManagementOrder {
    /// The delay to honour, with the spec's default applied.
    pub fn delay_ms(&self) -> u64 {
        self.delay.unwrap_or(DEFAULT_DELAY_MS)
    }
}

/// `ramCommand`, discriminated by `ramCommandType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ramCommandType")]
pub enum RamCommand {
    /// `ramStartCommand` (`startCommand` accepted): the remote management session starts.
    #[serde(rename = "ramStartCommand", alias = "startCommand")]
    Start,
    /// `seRamCommand`: C-APDUs for the chosen SE.
    #[serde(rename = "seRamCommand")]
    SeRam(SeRamCommand),
    /// `notificationCommand`: a message for the device application.
    #[serde(rename = "notificationCommand")]
    Notification(NotificationCommand),
    /// `ramStopCommand` (`stopCommand` accepted): the session ends; no further report.
    #[serde(rename = "ramStopCommand", alias = "stopCommand")]
    Stop,
}

/// The body of an `seRamCommand`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeRamCommand {
    /// `listOfCAPDU` (required): C-APDUs in hex, in order.
    #[serde(rename = "listOfCAPDU")]
    pub list_of_capdu: Vec<String>,
}

/// The body of a `notificationCommand`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationCommand {
    /// `deviceAppNotification` (required): UTF-8 text for the device application.
    pub device_app_notification: String,
}

/// `remoteManagementReport`: what the local agent posts to `/remoteManagement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteManagementReport {
    /// `localAgentStatus` (required).
    pub local_agent_status: LocalAgentStatus,
    /// `ramResponses`: one per command that needs a response (absent when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ram_responses: Vec<RamResponse>,
}

impl RemoteManagementReport {
    /// A void (polling) report: `POLLING`, zero SE RAM commands executed. The first request of
    /// the command exchange is always one.
    pub fn polling() -> RemoteManagementReport {
        RemoteManagementReport {
            local_agent_status: LocalAgentStatus {
                local_agent_status_enum: LocalAgentStatusEnum::Polling,
                executed_se_ram_commands: Some(0),
                error_msg: None,
            },
            ram_responses: Vec::new(),
        }
    }
}

/// `ramResponse`, discriminated by `ramResponseType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ramResponseType")]
pub enum RamResponse {
    /// `seRamResponse`: the R-APDUs of one `seRamCommand`.
    #[serde(rename = "seRamResponse")]
    SeRam(SeRamResponse),
}

/// The body of an `seRamResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeRamResponse {
    /// `listOfRAPDU` (required, possibly empty): R-APDUs in hex, one per C-APDU sent; an empty
    /// string where no response is available.
    #[serde(rename = "listOfRAPDU")]
    pub list_of_rapdu: Vec<String>,
}

/// `localAgentStatus`, sent in every report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalAgentStatus {
    /// `localAgentStatusEnum` (required).
    pub local_agent_status_enum: LocalAgentStatusEnum,
    /// `executedSeRamCommands`: SE RAM commands executed (zero while polling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_se_ram_commands: Option<u32>,
    /// `errorMsg`: what went wrong, with an error status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
}

/// `localAgentStatusEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LocalAgentStatusEnum {
    /// `PROCESSED`: the order's commands were executed.
    Processed,
    /// `POLLING`: first request, or the order carried no command.
    Polling,
    /// `UNAVAILABLE_SE`: the SE cannot be reached.
    UnavailableSe,
    /// `UNKNOWN_FAILURE`: any other failure.
    UnknownFailure,
    /// `UNGRANTED_ACCESS`: access to the SE or applet was refused.
    UngrantedAccess,
}
