//! `wallet hce serve`: the wallet's HCE card as a card in a virtual PC/SC reader (vsmartcard's
//! vpcd), so `opensc-tool`, pyscard or a PC/SC payment kernel can talk to the HCE responder the
//! way a contactless reader talks to a phone.

use crate::output::{anyhow_like::Error, Output};
use mock_backend::se_sim::vpcd::{serve_card, VpcdCard, VPCD_DEFAULT_ADDR};
use serde_json::json;
use wallet_core::hce::DeactivationReason;
use wallet_core::Wallet;

/// The ATR a PC/SC reader reports for an ISO/IEC 14443-4 card without historical bytes (PC/SC
/// part 3, 3.1.3.2.3.1): `3B 80 80 01 01` — T=1 indicated, TCK = `80 ^ 80 ^ 01`.
pub const HCE_ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// `wallet hce serve`.
#[derive(Debug, clap::Args)]
pub struct HceServeArgs {
    /// Address of the vpcd daemon (vsmartcard) to connect to.
    #[arg(long, default_value = VPCD_DEFAULT_ADDR)]
    pub vpcd: String,
}

/// The wallet's HCE responder as a vpcd card: APDUs go to [`Wallet::process_apdu`]; the reader
/// switching the field off (power off, or the first half of a reset) is a link loss.
pub struct HceCard(pub Wallet);

impl VpcdCard for HceCard {
    fn atr(&self) -> Vec<u8> {
        HCE_ATR.to_vec()
    }

    fn power(&mut self, on: bool) {
        if !on {
            self.0.on_deactivated(DeactivationReason::LinkLoss);
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.0.process_apdu(apdu)
    }
}

/// Connects the wallet's default HCE card to vpcd and answers until vpcd disconnects.
pub async fn serve(wallet: &Wallet, args: &HceServeArgs, out: &mut Output) -> Result<(), Error> {
    if wallet.hce_cards()?.is_empty() {
        return Err(Error::usage("no HCE card: run `wallet open-hce-card`"));
    }
    let addr = args.vpcd.clone();
    out.info("serving the HCE card to vpcd", json!({ "vpcd": addr }));
    let card = HceCard(wallet.clone());
    tokio::task::spawn_blocking(move || serve_card(card, addr))
        .await
        .map_err(|e| Error::usage(e.to_string()))?
        .map_err(|e| Error::usage(format!("vpcd: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_backend::se_sim::vpcd::control;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use wallet_core::binding::BindingRequest;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn read_frame(stream: &mut impl Read) -> Vec<u8> {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut payload = vec![0; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut payload).unwrap();
        payload
    }

    /// A wallet bound to the mock bank's first test card with an HCE card open.
    async fn wallet_with_hce_card(dir: &std::path::Path) -> (Wallet, crate::world::World) {
        let world = crate::world::World::connect(None, dir).await.unwrap();
        let (wallet, _se) = crate::commands::open_phone(dir, world.url()).unwrap();
        let request = BindingRequest {
            pan: "6222021234567894".into(),
            holder_name: "张三".into(),
            id_number: "071233".into(),
            phone: "13800138000".into(),
        };
        let pending = wallet.begin_binding(&request).await.unwrap();
        let code = world.latest_sms_code("13800138000").await.unwrap();
        let binding = wallet
            .confirm_binding(&pending.session_id, &code)
            .await
            .unwrap();
        wallet.open_hce_card(&binding.binding_id).await.unwrap();
        (wallet, world)
    }

    /// An in-test listener plays vpcd: power on, ATR, SELECT PPSE, power off, disconnect.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vpcd_selects_the_ppse_of_the_hce_card() {
        let dir = tempfile::tempdir().unwrap();
        let (wallet, world) = wallet_with_hce_card(dir.path()).await;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let card = tokio::task::spawn_blocking(move || serve_card(HceCard(wallet), addr));
        let reader = tokio::task::spawn_blocking(move || {
            let (mut vpcd, _) = listener.accept().unwrap();
            vpcd.write_all(&frame(&[control::POWER_ON])).unwrap();
            vpcd.write_all(&frame(&[control::GET_ATR])).unwrap();
            let atr = read_frame(&mut vpcd);
            // SELECT 2PAY.SYS.DDF01 (EMV Book B, 3.3.2).
            vpcd.write_all(&frame(
                &hex::decode("00A404000E325041592E5359532E444446303100").unwrap(),
            ))
            .unwrap();
            let fci = read_frame(&mut vpcd);
            vpcd.write_all(&frame(&[control::POWER_OFF])).unwrap();
            (atr, fci)
        });
        let (atr, fci) = reader.await.unwrap();
        card.await.unwrap().unwrap();
        world.shutdown().await;
        assert_eq!(hex::encode_upper(atr), "3B80800101");
        let fci = hex::encode_upper(fci);
        // FCI template whose DF name is 2PAY.SYS.DDF01, with a directory entry (61) holding an
        // ADF name (4F) of a UnionPay application (RID A000000333), then 9000.
        assert!(fci.starts_with("6F"), "{fci}");
        assert!(fci.contains("840E325041592E5359532E4444463031"), "{fci}");
        assert!(fci.contains("4F08A000000333"), "{fci}");
        assert!(fci.ends_with("9000"), "{fci}");
    }
}
