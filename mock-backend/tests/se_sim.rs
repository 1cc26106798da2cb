//! The SE simulator driven as a TSM drives a card: host-side scripts built with the core's
//! `Scp03Host` / `Scp02Host` and GlobalPlatform command builders, sent through the
//! `SeTransport` seam the wallet uses.

use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::world_keys::{
    isd_keys, ssd_keys, ISD_AID, PAYMENT_LOAD_FILE, PAYMENT_MODULE, SSD_AID, SSD_LOAD_FILE,
    SSD_MODULE, SSD_PRIVILEGES,
};
use wallet_core::apdu::{CommandApdu, ResponseApdu, StatusWord};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::aids::{DEBIT, E_CASH};
use wallet_core::card::{CardCrypto, CardKeys, CardPersonalization, ECashParams};
use wallet_core::gp::commands::{
    load_commands, DataStructure, Delete, Dgi, GetData, GetStatus, Install, InstallForInstall,
    InstallForLoad, InstallForPersonalization, InstallParameters, KeyType, PutKey, RegistryEntry,
    SetStatus, SetStatusScope, StatusScope, StoreData, StoreDataEncryption,
};
use wallet_core::gp::keys::kcv_aes;
use wallet_core::gp::scp03::{
    pseudo_random_card_challenge, InitializeUpdateResponse, SequenceCounter,
};
use wallet_core::gp::{
    Aid, GpError, KeyEncryptionKey, Privileges, Scp02Host, Scp03Host, SecurityLevel, StaticKeys,
};
use wallet_core::se::{ReaderKind, SeError, SeTransport};

#[path = "se_sim/ppse.rs"]
mod ppse;

fn aid(bytes: &[u8]) -> Aid {
    Aid::new(bytes).unwrap()
}

const SW_OK: StatusWord = StatusWord::SUCCESS;

/// A logical channel opened through the transport.
#[derive(Clone, Copy)]
struct Channel<'a> {
    t: &'a SimulatedSeTransport,
    handle: u64,
}

impl<'a> Channel<'a> {
    fn open(t: &'a SimulatedSeTransport, reader: &str, target: &[u8]) -> Result<Self, SeError> {
        let session = t.open_session(reader.into())?;
        let opened = t.open_logical_channel(session, Some(target.to_vec()), 0x00)?;
        Ok(Channel {
            t,
            handle: opened.handle,
        })
    }

    fn send(&self, cmd: &CommandApdu) -> ResponseApdu {
        ResponseApdu::parse(&self.t.transmit(self.handle, cmd.to_bytes()).unwrap()).unwrap()
    }

    fn get_data(&self, tag: u16) -> Vec<u8> {
        let r = self.send(&GetData { tag }.to_apdu());
        assert_eq!(r.sw, SW_OK, "GET DATA {tag:04X}");
        r.data
    }

    /// The KDD from GET DATA `CF` (value after `CF 0A`).
    fn kdd(&self) -> [u8; 10] {
        self.get_data(0x00CF)[2..].try_into().unwrap()
    }
}

enum Host {
    V3(Scp03Host),
    V2(Scp02Host),
}

/// An authenticated secure channel session.
struct Secure<'a> {
    ch: Channel<'a>,
    host: Host,
}

impl Secure<'_> {
    fn send(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        let wrapped = match &mut self.host {
            Host::V3(h) => h.wrap(cmd).unwrap(),
            Host::V2(h) => h.wrap(cmd).unwrap(),
        };
        let resp = self.ch.send(&wrapped);
        match &mut self.host {
            Host::V3(h) => h.unwrap(&resp).unwrap(),
            Host::V2(h) => h.unwrap(&resp).unwrap(),
        }
    }

    fn ok(&mut self, cmd: &CommandApdu) -> Vec<u8> {
        let r = self.send(cmd);
        assert_eq!(r.sw, SW_OK, "{cmd:?}");
        r.data
    }

    fn sw(&mut self, cmd: &CommandApdu) -> u16 {
        self.send(cmd).sw.0
    }

    fn kek(&self, keys: &StaticKeys) -> KeyEncryptionKey {
        match &self.host {
            Host::V3(_) => KeyEncryptionKey::aes(keys.dek()),
            Host::V2(h) => h.key_encryption_key().unwrap(),
        }
    }
}

/// Opens the ISD of an SCP03 SE with a session precomputed from the sequence counter the card
/// reports (GET DATA `C1`), checking the card challenge is the predicted pseudo-random one.
fn isd_scp03<'a>(
    t: &'a SimulatedSeTransport,
    reader: &str,
    level: SecurityLevel,
) -> (Secure<'a>, StaticKeys) {
    let ch = Channel::open(t, reader, &ISD_AID).unwrap();
    let keys = isd_keys(ReaderKind::from_reader_name(reader).unwrap(), &ch.kdd()).unwrap();
    let counter_bytes: [u8; 3] = ch.get_data(0x00C1)[2..].try_into().unwrap();
    let next = SequenceCounter::from_bytes(counter_bytes).next().unwrap();
    let isd = aid(&ISD_AID);
    let mut host = Scp03Host::precomputed(keys.clone(), [0x11; 8], next, &isd, level).unwrap();
    let iu = ch.send(&host.initialize_update().unwrap());
    host.check_initialize_update_response(&iu).unwrap();
    let parsed = InitializeUpdateResponse::parse(&iu.data).unwrap();
    assert_eq!(
        parsed.card_challenge,
        pseudo_random_card_challenge(&keys, next, &isd).unwrap()
    );
    assert_eq!(parsed.sequence_counter, Some(next));
    assert_eq!(parsed.options.value(), 0x70);
    let ea = ch.send(&host.external_authenticate().unwrap());
    host.on_external_authenticate_response(&ea).unwrap();
    (
        Secure {
            ch,
            host: Host::V3(host),
        },
        keys,
    )
}

/// Interactive SCP03 authentication (random card challenge).
fn scp03_interactive(
    ch: &Channel<'_>,
    keys: &StaticKeys,
    level: SecurityLevel,
) -> (Scp03Host, InitializeUpdateResponse) {
    let mut host = Scp03Host::new(keys.clone(), level).unwrap();
    let iu = ch.send(&host.initialize_update().unwrap());
    let ea = host.on_initialize_update_response(&iu).unwrap();
    host.on_external_authenticate_response(&ch.send(&ea))
        .unwrap();
    (host, InitializeUpdateResponse::parse(&iu.data).unwrap())
}

fn install(load_file: &[u8], module: &[u8], app: &[u8], privileges: Privileges) -> CommandApdu {
    Install::ForInstall(InstallForInstall {
        load_file_aid: aid(load_file),
        module_aid: aid(module),
        application_aid: aid(app),
        privileges,
        parameters: InstallParameters::default(),
        token: Vec::new(),
        make_selectable: true,
    })
    .to_apdu()
    .unwrap()
}

/// INSTALL [for install and make selectable] of a payment instance.
fn install_payment(app: &[u8]) -> CommandApdu {
    install(&PAYMENT_LOAD_FILE, &PAYMENT_MODULE, app, Privileges::NONE)
}

fn for_perso(app: &[u8]) -> CommandApdu {
    Install::ForPersonalization(InstallForPersonalization {
        application_aid: aid(app),
    })
    .to_apdu()
    .unwrap()
}

fn card(kind: AccountKind, balance: u64) -> CardPersonalization {
    CardPersonalization {
        account_kind: kind,
        pan: "6231234567890123".into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto: CardCrypto::Sm4,
        currency: 156,
        country: 156,
        keys: CardKeys {
            ac: [0xA1; 16].into(),
            smi: [0xB2; 16].into(),
            smc: [0xC3; 16].into(),
        },
        ecash: Some(ECashParams {
            balance,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    }
}

/// STORE DATA of a personalisation: clear DGIs in blocks, then DGI 8000 encrypted under `kek`.
fn personalise(
    isd: &mut Secure<'_>,
    app: &[u8],
    perso: &CardPersonalization,
    kek: &KeyEncryptionKey,
) {
    isd.ok(&for_perso(app));
    let dgis = perso.to_dgis().unwrap();
    let (secret, clear): (Vec<Dgi>, Vec<Dgi>) = dgis.into_iter().partition(|d| d.tag == 0x8000);
    let mut blocks = StoreData::sequence(
        &Dgi::encode_all(&clear).unwrap(),
        40,
        StoreDataEncryption::None,
        DataStructure::Dgi,
    )
    .unwrap();
    blocks.last_mut().unwrap().last = false;
    let encrypted: Vec<Dgi> = secret
        .iter()
        .map(|d| Dgi {
            tag: d.tag,
            data: kek.encrypt(&d.data).unwrap(),
        })
        .collect();
    blocks.push(StoreData {
        last: true,
        block_number: u8::try_from(blocks.len()).unwrap(),
        encryption: StoreDataEncryption::Encrypted,
        structure: DataStructure::Dgi,
        data: Dgi::encode_all(&encrypted).unwrap(),
    });
    assert!(blocks.len() > 2, "the clear DGIs span several blocks");
    for block in blocks {
        assert_eq!(isd.ok(&block.to_apdu().unwrap()), Vec::<u8>::new());
    }
}

fn status(isd: &mut Secure<'_>, scope: StatusScope) -> (Vec<RegistryEntry>, u16) {
    let r = isd.send(&GetStatus::all(scope).to_apdu().unwrap());
    (RegistryEntry::parse_all(&r.data).unwrap(), r.sw.0)
}

fn set_status(app: &[u8], state: u8) -> CommandApdu {
    SetStatus {
        scope: SetStatusScope::Application,
        state,
        aid: Some(aid(app)),
    }
    .to_apdu()
    .unwrap()
}

fn select_sw(t: &SimulatedSeTransport, reader: &str, app: &[u8]) -> Result<Vec<u8>, SeError> {
    let session = t.open_session(reader.into())?;
    let opened = t.open_logical_channel(session, Some(app.to_vec()), 0x00);
    t.close_session(session)?;
    opened.map(|o| o.select_response.unwrap())
}

/// GET DATA `9F79` (e-cash balance) on an application channel.
fn balance(ch: &Channel<'_>) -> ResponseApdu {
    ch.send(&CommandApdu::new(0x80, 0xCA, 0x9F, 0x79).with_short_le(0))
}

#[test]
fn payment_application_is_installed_personalised_read_locked_and_deleted() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    let (mut isd, keys) = isd_scp03(&t, "eSE1", SecurityLevel::FULL);
    isd.ok(&install_payment(&E_CASH));
    let (apps, sw) = status(&mut isd, StatusScope::Applications);
    assert_eq!(
        (apps.len(), apps[0].life_cycle, sw),
        (1, 0x07, 0x9000),
        "SELECTABLE, not PERSONALIZED"
    );

    // Selectable but not personalised: bare FCI, GET DATA refused.
    let fresh = Channel::open(&t, "eSE1", &E_CASH).unwrap();
    assert_eq!(balance(&fresh).sw.0, 0x6985);
    t.close_channel(fresh.handle).unwrap();

    let kek = isd.kek(&keys);
    personalise(&mut isd, &E_CASH, &card(AccountKind::ECash, 12_345), &kek);
    let (apps, _) = status(&mut isd, StatusScope::Applications);
    assert_eq!(apps[0].aid, aid(&E_CASH));
    assert_eq!(apps[0].life_cycle, 0x0F);
    assert_eq!(apps[0].load_file_aid, Some(aid(&PAYMENT_LOAD_FILE)));
    assert_eq!(apps[0].associated_security_domain, Some(aid(&ISD_AID)));

    // Another channel: SELECT answers the card application's FCI (label, priority 1, PDOL),
    // GET DATA 9F79 the balance (n12, 123.45).
    let app = Channel::open(&t, "eSE1", &E_CASH).unwrap();
    let fci = hex::encode_upper(select_sw(&t, "eSE1", &E_CASH).unwrap());
    let label = hex::encode_upper(b"UnionPay E-Cash");
    assert!(fci.starts_with("6F458408A000000333010106A539"), "{fci}");
    assert!(fci.contains(&format!("500F{label}8701019F381B")), "{fci}");
    assert!(fci.ends_with("5F2D047A68656E9000"), "{fci}");
    assert_eq!(
        hex::encode_upper(balance(&app).to_bytes()),
        "9F79060000000123459000"
    );

    // Lock: SELECT refused (6A82), the selected instance refuses commands; unlock restores 0F.
    assert_eq!(isd.sw(&set_status(&E_CASH, 0x80)), 0x9000);
    assert_eq!(
        status(&mut isd, StatusScope::Applications).0[0].life_cycle,
        0x8F
    );
    assert!(matches!(
        select_sw(&t, "eSE1", &E_CASH),
        Err(SeError::ApplicationNotFound { .. })
    ));
    assert_eq!(balance(&app).sw.0, 0x6985);
    assert_eq!(isd.sw(&set_status(&E_CASH, 0x00)), 0x9000);
    assert_eq!(
        status(&mut isd, StatusScope::Applications).0[0].life_cycle,
        0x0F
    );
    assert!(select_sw(&t, "eSE1", &E_CASH).is_ok());

    // DELETE: refused while selected, then gone.
    let delete = Delete::object(aid(&E_CASH), false).to_apdu().unwrap();
    assert_eq!(isd.sw(&delete), 0x6985);
    t.close_channel(app.handle).unwrap();
    assert_eq!(isd.ok(&delete), [0x00]);
    assert_eq!(status(&mut isd, StatusScope::Applications).1, 0x6A88);
    assert!(matches!(
        select_sw(&t, "eSE1", &E_CASH),
        Err(SeError::ApplicationNotFound { .. })
    ));
    // The load file stays, so the instance can be installed again.
    isd.ok(&install_payment(&E_CASH));
}

#[test]
fn supplementary_domain_gets_keys_and_authenticates_with_a_random_challenge() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    let (mut isd, isd_keys) = isd_scp03(&t, "SIM1", SecurityLevel::C_DEC_C_MAC_R_MAC);
    isd.ok(&install(
        &SSD_LOAD_FILE,
        &SSD_MODULE,
        &SSD_AID,
        SSD_PRIVILEGES,
    ));
    let kdd: [u8; 10] = isd.ok(&GetData { tag: 0x00CF }.to_apdu())[2..]
        .try_into()
        .unwrap();
    let ssd = ssd_keys(ReaderKind::Sim, &kdd).unwrap();

    // No keys yet: INITIALIZE UPDATE on the SSD finds none.
    let bare = Channel::open(&t, "SIM1", &SSD_AID).unwrap();
    let host = Scp03Host::new(ssd.clone(), SecurityLevel::C_MAC).unwrap();
    assert_eq!(bare.send(&host.initialize_update().unwrap()).sw.0, 0x6A88);

    // PUT KEY through the ISD after INSTALL [for personalization] of the SSD.
    isd.ok(&for_perso(&SSD_AID));
    let put = PutKey::key_set(
        &ssd,
        KeyType::Aes,
        &KeyEncryptionKey::aes(isd_keys.dek()),
        0x00,
    )
    .unwrap();
    let reply = isd.ok(&put.to_apdu().unwrap());
    let mut expected = vec![0x30];
    for key in [ssd.enc(), ssd.mac(), ssd.dek()] {
        expected.extend(kcv_aes(key).unwrap());
    }
    assert_eq!(reply, expected, "new key version and the three AES KCVs");

    // Two interactive sessions: random card challenges (i = 60, no sequence counter).
    let (host, first) = scp03_interactive(&bare, &ssd, SecurityLevel::FULL);
    assert_eq!(
        (first.options.value(), first.sequence_counter),
        (0x60, None)
    );
    let mut secure = Secure {
        ch: bare,
        host: Host::V3(host),
    };
    let (entries, sw) = status(&mut secure, StatusScope::Applications);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        entries.iter().map(|e| e.aid.clone()).collect::<Vec<_>>(),
        [aid(&SSD_AID)],
        "an SSD sees itself"
    );
    assert_eq!(entries[0].life_cycle, 0x0F, "PERSONALIZED once it has keys");
    let (_, second) = scp03_interactive(&bare, &ssd, SecurityLevel::C_MAC);
    assert_ne!(first.card_challenge, second.card_challenge);
    // The ISD's keys (same version 30) are not the SSD's: the card cryptogram gives it away.
    let mut wrong = Scp03Host::new(isd_keys, SecurityLevel::C_MAC).unwrap();
    let iu = bare.send(&wrong.initialize_update().unwrap());
    assert_eq!(
        wrong.on_initialize_update_response(&iu).unwrap_err(),
        GpError::CardCryptogram
    );
}

#[test]
fn tampered_mac_answers_6982_and_closes_the_secure_channel() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    let (mut isd, _) = isd_scp03(&t, "eSE1", SecurityLevel::C_MAC);
    let get_status = GetStatus::all(StatusScope::IssuerSecurityDomain)
        .to_apdu()
        .unwrap();
    let Host::V3(host) = &mut isd.host else {
        unreachable!()
    };
    let wrapped = host.wrap(&get_status).unwrap();
    let mut bytes = wrapped.to_bytes();
    let mac_end = bytes.len() - 2; // before Le
    bytes[mac_end] ^= 0x01;
    assert_eq!(t.transmit(isd.ch.handle, bytes).unwrap(), [0x69, 0x82]);
    // The following, correctly wrapped command is refused too: the session is gone.
    assert_eq!(isd.sw(&get_status), 0x6982);

    // A wrong host cryptogram is refused as well; a fresh session works.
    let ch = Channel::open(&t, "eSE1", &ISD_AID).unwrap();
    let keys = isd_keys(ReaderKind::Ese, &ch.kdd()).unwrap();
    let mut host = Scp03Host::new(keys.clone(), SecurityLevel::C_MAC).unwrap();
    let ea = host
        .on_initialize_update_response(&ch.send(&host.initialize_update().unwrap()))
        .unwrap();
    let mut forged = ea.data().to_vec();
    forged[0] ^= 0x80;
    let forged = CommandApdu::new(ea.cla(), ea.ins(), ea.p1(), ea.p2())
        .with_data(forged)
        .unwrap();
    assert_eq!(ch.send(&forged).sw.0, 0x6982);
    let (host, _) = scp03_interactive(&ch, &keys, SecurityLevel::C_MAC);
    let mut secure = Secure {
        ch,
        host: Host::V3(host),
    };
    assert_eq!(
        status(&mut secure, StatusScope::IssuerSecurityDomain).0[0].life_cycle,
        0x0F
    );
}

#[test]
fn state_survives_reopening_the_transport() {
    let dir = tempfile::tempdir().unwrap();
    let se_id;
    {
        let t = SimulatedSeTransport::open(dir.path()).unwrap();
        se_id = t.se_id(ReaderKind::Ese);
        let (mut isd, keys) = isd_scp03(&t, "eSE1", SecurityLevel::C_DEC_C_MAC);
        isd.ok(&install_payment(&DEBIT));
        let kek = isd.kek(&keys);
        personalise(&mut isd, &DEBIT, &card(AccountKind::Debit, 500), &kek);
        let (_isd, _) = isd_scp03(&t, "eSE1", SecurityLevel::C_MAC); // counter 2
    }
    assert!(dir.path().join("se/ese.json").exists());
    let t = SimulatedSeTransport::open(dir.path()).unwrap();
    assert_eq!(t.se_id(ReaderKind::Ese), se_id);
    assert_ne!(t.se_id(ReaderKind::Sim), se_id, "each SE has its own KDD");
    let app = Channel::open(&t, "eSE1", &DEBIT).unwrap();
    assert_eq!(
        hex::encode_upper(balance(&app).to_bytes()),
        "9F79060000000005009000"
    );
    // The sequence counter went on from 2: the precomputation for 3 matches.
    let (mut isd, _) = isd_scp03(&t, "eSE1", SecurityLevel::C_MAC);
    assert_eq!(
        isd.ok(&GetData { tag: 0x00C1 }.to_apdu()),
        [0xC1, 0x03, 0x00, 0x00, 0x03]
    );
    assert_eq!(
        status(&mut isd, StatusScope::Applications).0[0].life_cycle,
        0x0F
    );
}

#[test]
fn microsd_speaks_scp02() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    let ch = Channel::open(&t, "SD1", &ISD_AID).unwrap();
    let recognition = ch.get_data(0x0066);
    assert!(
        hex::encode_upper(&recognition).ends_with("640B06092A864886FC6B040215"),
        "SCP02 i=15"
    );
    let keys = isd_keys(ReaderKind::Sd, &ch.kdd()).unwrap();
    assert_eq!(ch.get_data(0x00C1), [0xC1, 0x02, 0x00, 0x00]);
    let mut host = Scp02Host::new(keys.clone(), SecurityLevel::C_DEC_C_MAC).unwrap();
    let iu = ch.send(&host.initialize_update().unwrap());
    assert_eq!(iu.data.len(), 28);
    assert_eq!(
        &iu.data[10..14],
        [0x20, 0x02, 0x00, 0x00],
        "key version 20, SCP02, counter 0"
    );
    let ea = host.on_initialize_update_response(&iu).unwrap();
    host.on_external_authenticate_response(&ch.send(&ea))
        .unwrap();
    let mut isd = Secure {
        ch,
        host: Host::V2(host),
    };
    assert_eq!(
        isd.ok(&GetData { tag: 0x00C1 }.to_apdu()),
        [0xC1, 0x02, 0x00, 0x01]
    );
    isd.ok(&install_payment(&E_CASH));
    let kek = isd.kek(&keys);
    personalise(&mut isd, &E_CASH, &card(AccountKind::ECash, 7), &kek);
    let app = Channel::open(&t, "SD1", &E_CASH).unwrap();
    assert_eq!(
        balance(&app).data,
        hex::decode("9F7906000000000007").unwrap()
    );
    // An SCP03 host is told the key version does not exist.
    let scp03 = Scp03Host::new(keys.with_version(0x30), SecurityLevel::C_MAC).unwrap();
    assert_eq!(
        app.t
            .transmit(isd.ch.handle, scp03.initialize_update().unwrap().to_bytes())
            .unwrap(),
        [0x6A, 0x88]
    );
}

#[test]
fn load_install_of_another_file_and_paged_get_status() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    let (mut isd, _) = isd_scp03(&t, "eSE1", SecurityLevel::FULL);
    let file = [0xA0, 0x00, 0x00, 0x06, 0x66, 0x01];
    let module = [0xA0, 0x00, 0x00, 0x06, 0x66, 0x01, 0x01];
    isd.ok(&Install::ForLoad(InstallForLoad {
        load_file_aid: aid(&file),
        security_domain_aid: None,
        load_file_hash: Vec::new(),
        load_parameters: Vec::new(),
        load_token: Vec::new(),
    })
    .to_apdu()
    .unwrap());
    let mut content = vec![0x84, 0x07];
    content.extend(module);
    content.extend([0xC1, 0x81, 0x90]);
    content.extend([0x5A; 0x90]);
    let blocks = load_commands(&content, 64).unwrap();
    assert_eq!(blocks.len(), 3);
    for block in &blocks {
        assert_eq!(isd.ok(block), [0x00]);
    }
    let (files, _) = status(&mut isd, StatusScope::LoadFilesAndModules);
    let loaded = files.iter().find(|f| f.aid == aid(&file)).unwrap();
    assert_eq!(loaded.modules, [aid(&module)]);
    // Seven instances: GET STATUS answers 6310, then the rest with P2 "next".
    for i in 0..7u8 {
        isd.ok(&install(
            &file,
            &module,
            &[0xA0, 0x00, 0x00, 0x06, 0x66, 0x01, 0x10 + i],
            Privileges::NONE,
        ));
    }
    let (first, sw) = status(&mut isd, StatusScope::Applications);
    assert_eq!(sw, 0x6310);
    let next = GetStatus {
        next: true,
        ..GetStatus::all(StatusScope::Applications)
    };
    let rest = RegistryEntry::parse_all(&isd.ok(&next.to_apdu().unwrap())).unwrap();
    assert_eq!(first.len() + rest.len(), 7);
    let generic = Channel::open(&t, "eSE1", &[0xA0, 0x00, 0x00, 0x06, 0x66, 0x01, 0x13]).unwrap();
    assert_eq!(
        generic.send(&CommandApdu::new(0x80, 0x10, 0, 0)).sw.0,
        0x6D00
    );
    // DELETE of the file with its instances needs "related objects".
    assert_eq!(
        isd.sw(&Delete::object(aid(&file), false).to_apdu().unwrap()),
        0x6985
    );
    t.close_channel(generic.handle).unwrap();
    assert_eq!(
        isd.ok(&Delete::object(aid(&file), true).to_apdu().unwrap()),
        [0x00]
    );
    assert_eq!(status(&mut isd, StatusScope::Applications).1, 0x6A88);
}

#[test]
fn card_lock_leaves_only_the_isd() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    // Channels 1-4 taken: the ISD session runs on channel 5 (class bytes C1, secured E1).
    let session = t.open_session("eSE1".into()).unwrap();
    for _ in 1..=4 {
        t.open_logical_channel(session, None, 0).unwrap();
    }
    let (mut isd, _) = isd_scp03(&t, "eSE1", SecurityLevel::C_MAC);
    isd.ok(&install_payment(&E_CASH));
    let card = |state| {
        SetStatus {
            scope: SetStatusScope::IssuerSecurityDomain,
            state,
            aid: None,
        }
        .to_apdu()
        .unwrap()
    };
    assert_eq!(isd.sw(&card(0x7F)), 0x9000);
    assert!(matches!(
        select_sw(&t, "eSE1", &E_CASH),
        Err(SeError::UnexpectedStatus { sw: 0x6A81 })
    ));
    assert_eq!(
        status(&mut isd, StatusScope::IssuerSecurityDomain).0[0].life_cycle,
        0x7F
    );
    assert_eq!(isd.sw(&card(0x07)), 0x6985, "no way back to INITIALIZED");
    assert_eq!(isd.sw(&card(0x0F)), 0x9000);
    assert!(select_sw(&t, "eSE1", &E_CASH).is_ok());
}
