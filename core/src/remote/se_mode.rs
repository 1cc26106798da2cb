//! SE mode: the card's payment applet signs the payment message after verifying the PIN.

use super::se_applet::{sign_with_applet, SeSignError};
use super::RemotePayError;
use crate::se::{SeError, SeService};
use zeroize::Zeroizing;

/// Runs the applet's PIN verification and signature off the async runtime (blocking APDUs).
pub(super) async fn sign(
    se: SeService,
    reader_name: String,
    instance_aid: Vec<u8>,
    pin: Zeroizing<String>,
    message: Vec<u8>,
) -> Result<Vec<u8>, RemotePayError> {
    tokio::task::spawn_blocking(move || {
        sign_with_applet(&se, &reader_name, &instance_aid, &pin, &message)
    })
    .await
    .map_err(|e| {
        RemotePayError::Se(SeError::Platform {
            message: format!("SE worker failed: {e}"),
        })
    })?
    .map_err(RemotePayError::from)
}

impl From<SeSignError> for RemotePayError {
    fn from(e: SeSignError) -> Self {
        match e {
            SeSignError::InvalidPin => RemotePayError::InvalidPin,
            SeSignError::PinWrong { attempts_left } => RemotePayError::PinWrong { attempts_left },
            SeSignError::PinBlocked => RemotePayError::PinBlocked,
            SeSignError::NoSigningKey => RemotePayError::NoSeCard,
            SeSignError::Se(e) => RemotePayError::Se(e),
            SeSignError::Card(sw) => RemotePayError::CardStatus(sw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_failures_map_to_payment_errors() {
        assert!(matches!(
            RemotePayError::from(SeSignError::PinWrong { attempts_left: 2 }),
            RemotePayError::PinWrong { attempts_left: 2 }
        ));
        assert!(matches!(
            RemotePayError::from(SeSignError::PinBlocked),
            RemotePayError::PinBlocked
        ));
        assert!(matches!(
            RemotePayError::from(SeSignError::InvalidPin),
            RemotePayError::InvalidPin
        ));
        assert!(matches!(
            RemotePayError::from(SeSignError::NoSigningKey),
            RemotePayError::NoSeCard
        ));
        assert!(matches!(
            RemotePayError::from(SeSignError::Card(0x6F00)),
            RemotePayError::CardStatus(0x6F00)
        ));
    }
}
