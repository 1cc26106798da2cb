//! The typed errors of the exported functions.
//!
//! Each variant carries a stable machine-readable `code` (snake_case) and a human-readable
//! `error_message` (named so to stay clear of Kotlin's `Throwable.message`). Kotlin sees a sealed
//! `FfiException` class, Swift an `FfiError` enum, Python an `FfiError` exception hierarchy.

/// An error from a facade call that is not tied to a platform service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum FfiError {
    /// The caller passed a value the library cannot use (malformed URL, bad length, …).
    #[error("invalid argument ({code}): {error_message}")]
    InvalidArgument {
        /// Stable machine-readable code, e.g. `invalid_url`.
        code: String,
        /// What was wrong, for logs and developers.
        error_message: String,
    },
    /// The backend could not be reached (refused, DNS, TLS, timeout).
    #[error("network error ({code}): {error_message}")]
    Network {
        /// Stable machine-readable code: `unreachable`, `timeout`, …
        code: String,
        /// What failed, for logs and developers.
        error_message: String,
    },
    /// The backend answered, but not with success.
    #[error("backend error ({code}): {error_message}")]
    Backend {
        /// `http_<status>` (e.g. `http_503`) or another stable code.
        code: String,
        /// What the backend said, for logs and developers.
        error_message: String,
    },
}

impl FfiError {
    /// Builds [`FfiError::InvalidArgument`].
    pub fn invalid_argument(code: &str, error_message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            code: code.to_owned(),
            error_message: error_message.into(),
        }
    }

    /// The stable machine-readable code of any variant.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidArgument { code, .. }
            | Self::Network { code, .. }
            | Self::Backend { code, .. } => code,
        }
    }
}

impl From<reqwest::Error> for FfiError {
    fn from(err: reqwest::Error) -> Self {
        let code = if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "unreachable"
        } else if err.is_builder() {
            return Self::invalid_argument("invalid_url", err.to_string());
        } else {
            "transport"
        };
        Self::Network {
            code: code.to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_kind_code_and_message() {
        let err = FfiError::Network {
            code: "timeout".into(),
            error_message: "no answer in 5 s".into(),
        };
        assert_eq!(err.to_string(), "network error (timeout): no answer in 5 s");
        assert_eq!(err.code(), "timeout");
    }

    #[test]
    fn invalid_argument_helper_sets_code_and_message() {
        let err = FfiError::invalid_argument("invalid_url", "missing scheme");
        assert_eq!(
            err,
            FfiError::InvalidArgument {
                code: "invalid_url".into(),
                error_message: "missing scheme".into()
            }
        );
    }
}
