//! Readable steps for people, one JSON document for machines.

use serde_json::{json, Value};
use std::io::Write;

/// Prints a line to stdout; a closed pipe (`wallet … | head`) is not an error worth a panic.
fn emit(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Collects and prints the steps of a command.
pub struct Output {
    json: bool,
    steps: Vec<Value>,
}

impl Output {
    /// Text output, or JSON when `json`.
    pub fn new(json: bool) -> Self {
        Self {
            json,
            steps: Vec::new(),
        }
    }

    /// A section heading (text mode only).
    pub fn section(&mut self, title: &str) {
        if !self.json {
            emit(&format!("\n== {title} =="));
        }
    }

    /// A step that succeeded, with its details.
    pub fn ok(&mut self, step: &str, details: Value) {
        self.record(step, "ok", details);
    }

    /// A step whose failure was expected (the demo shows the wallet's typed errors).
    pub fn expected_error(&mut self, step: &str, error: &anyhow_like::Error) {
        self.record(
            step,
            "expected_error",
            json!({ "error": error.to_string(), "kind": error.kind() }),
        );
    }

    /// A plain note.
    pub fn info(&mut self, step: &str, details: Value) {
        self.record(step, "info", details);
    }

    fn record(&mut self, step: &str, outcome: &str, details: Value) {
        if self.json {
            self.steps
                .push(json!({ "step": step, "outcome": outcome, "details": details }));
            return;
        }
        let mark = match outcome {
            "ok" => "✔",
            "expected_error" => "✘ (expected)",
            _ => "•",
        };
        emit(&format!("{mark} {step}"));
        if let Value::Object(map) = &details {
            for (k, v) in map {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                emit(&format!("    {}: {shown}", k.replace('_', " ")));
            }
        } else if !details.is_null() {
            emit(&format!("    {details}"));
        }
    }

    /// Prints the JSON document (JSON mode) or the final error (text mode).
    pub fn finish(&mut self, error: Option<&anyhow_like::Error>) {
        if self.json {
            let doc = json!({
                "ok": error.is_none(),
                "steps": self.steps,
                "error": error.map(|e| json!({ "message": e.to_string(), "kind": e.kind() })),
            });
            emit(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else if let Some(e) = error {
            eprintln!("error: {e}");
        }
    }
}

/// The CLI's error: a message and a stable kind for `--json`.
pub mod anyhow_like {
    use wallet_core::binding::BindingError;
    use wallet_core::tsm::CardError;
    use wallet_core::WalletError;

    /// A command failed.
    #[derive(Debug)]
    pub struct Error {
        kind: String,
        message: String,
    }

    impl Error {
        /// A usage or environment error.
        pub fn usage(message: impl Into<String>) -> Self {
            Self {
                kind: "usage".into(),
                message: message.into(),
            }
        }

        /// Stable kind, e.g. `binding.wrong_code`.
        pub fn kind(&self) -> &str {
            &self.kind
        }
    }

    fn card_kind(e: &CardError) -> &'static str {
        match e {
            CardError::NoSecureElement => "card.no_secure_element",
            CardError::BindingNotFound => "card.binding_not_found",
            CardError::CardExists => "card.exists",
            CardError::CardNotFound => "card.not_found",
            CardError::InvalidState(_) => "card.invalid_state",
            CardError::ECashLoadRefused(_) => "card.ecash_load_refused",
            CardError::OrderFailed { .. } => "card.order_failed",
            CardError::Ota(_) => "card.ota",
            CardError::Se(_) => "card.se",
            CardError::Backend(_) => "backend",
            CardError::Store(_) => "store",
            CardError::Crypto(_) => "crypto",
        }
    }

    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.message)
        }
    }

    impl From<WalletError> for Error {
        fn from(e: WalletError) -> Self {
            let kind = match &e {
                WalletError::Binding(b) => match b {
                    BindingError::Invalid(_) => "binding.invalid_input",
                    BindingError::UnknownCard => "binding.unknown_card",
                    BindingError::NameMismatch => "binding.name_mismatch",
                    BindingError::IdMismatch => "binding.id_mismatch",
                    BindingError::PhoneMismatch => "binding.phone_mismatch",
                    BindingError::CardNotEligible => "binding.card_not_eligible",
                    BindingError::WrongCode { .. } => "binding.wrong_code",
                    BindingError::CodeLocked => "binding.code_locked",
                    BindingError::CodeExpired => "binding.code_expired",
                    BindingError::SessionNotFound => "binding.session_not_found",
                    BindingError::BindingNotFound => "binding.not_found",
                    BindingError::Backend(_) => "backend",
                    BindingError::Store(_) => "store",
                    BindingError::Crypto(_) => "crypto",
                    BindingError::Signer(_) => "binding.signer",
                },
                WalletError::Card(c) => card_kind(c),
                WalletError::Hce(_) => "hce",
                WalletError::RemotePay(r) => crate::remote::error_kind(r),
                WalletError::Store(_) => "store",
                WalletError::Backend(_) => "backend",
                WalletError::Crypto(_) => "crypto",
                WalletError::Config(_) => "config",
            };
            Self {
                kind: kind.into(),
                message: e.to_string(),
            }
        }
    }
}
