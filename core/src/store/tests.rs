//! Behaviour of [`Store`] as the wallet sees it: round trips, ordering, tampering, reopening,
//! typed failures that leave the directory untouched, durability across a crash.

use super::sealed::db_key;
use super::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Card {
    pan_suffix: String,
    atc: u16,
    keys_left: Option<u8>,
    tags: Vec<String>,
}

fn card() -> Card {
    Card {
        pan_suffix: "4242".into(),
        atc: 7,
        keys_left: Some(3),
        tags: vec!["debit".into(), "pboc".into()],
    }
}

/// A store directory with its key store file beside it.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    kek: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let kek = tmp.path().join("kek.bin");
        Self {
            _tmp: tmp,
            dir,
            kek,
        }
    }

    fn key_store(&self) -> Arc<dyn KeyStore> {
        Arc::new(SoftwareKeyStore::open(&self.kek).unwrap())
    }

    fn open(&self) -> Result<Store, StoreError> {
        Store::open(&self.dir, self.key_store())
    }
}

/// Every file and directory under `dir` with its content: equal snapshots mean nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(path.clone(), None);
                todo.push(path);
            } else {
                out.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Creates a store with one value in it and closes it.
fn populated(fx: &Fixture) {
    fx.open()
        .unwrap()
        .put_durable("cards", "c1", &card())
        .unwrap();
}

#[test]
fn store_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Store>();
}

#[test]
fn first_open_creates_meta_and_db() {
    let fx = Fixture::new();
    fx.open().unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir.join("store-meta.json")).unwrap()).unwrap();
    assert_eq!(meta["schema_version"], 1);
    assert_eq!(meta["key_alias"], DATA_KEY_ALIAS);
    // A 32-byte key wrapped by AES-GCM: 12 + 32 + 16 bytes, hex.
    assert_eq!(meta["wrapped_data_key"].as_str().unwrap().len(), 2 * 60);
    assert!(fx.dir.join("db").is_dir());
}

#[test]
fn round_trips_several_value_types() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    store.put("t", "u32", &0xDEAD_BEEFu32).unwrap();
    store.put("t", "string", &"héllo \"wallet\"").unwrap();
    store.put("t", "bytes", &vec![0u8, 1, 255]).unwrap();
    store.put("t", "bool", &false).unwrap();
    store.put("t", "struct", &card()).unwrap();
    let map = BTreeMap::from([("a".to_string(), 1i64), ("b".to_string(), -2)]);
    store.put_durable("t", "map", &map).unwrap();

    assert_eq!(store.get::<u32>("t", "u32").unwrap(), Some(0xDEAD_BEEF));
    assert_eq!(
        store.get::<String>("t", "string").unwrap().as_deref(),
        Some("héllo \"wallet\"")
    );
    assert_eq!(
        store.get::<Vec<u8>>("t", "bytes").unwrap(),
        Some(vec![0, 1, 255])
    );
    assert_eq!(store.get::<bool>("t", "bool").unwrap(), Some(false));
    assert_eq!(store.get::<Card>("t", "struct").unwrap(), Some(card()));
    assert_eq!(
        store.get::<BTreeMap<String, i64>>("t", "map").unwrap(),
        Some(map)
    );
    assert_eq!(store.get::<u32>("t", "absent").unwrap(), None);
    assert_eq!(store.get::<u32>("other", "u32").unwrap(), None);

    store.put("t", "u32", &1u32).unwrap();
    assert_eq!(
        store.get::<u32>("t", "u32").unwrap(),
        Some(1),
        "put overwrites"
    );
}

#[test]
fn a_value_of_another_shape_is_a_typed_error() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    store.put("t", "k", &"text").unwrap();
    assert!(matches!(
        store.get::<u32>("t", "k"),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn list_is_in_key_order_and_confined_to_its_namespace() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    for key in ["b", "a", "c", "aa", "B", "é"] {
        store.put("cards", key, &key.len()).unwrap();
    }
    // Namespaces that share a prefix with "cards", one way or the other.
    store.put("card", "sa", &100usize).unwrap();
    store.put("cardsx", "a", &101usize).unwrap();
    store.put("", "cardsa", &102usize).unwrap();

    let listed: Vec<(String, usize)> = store.list("cards").unwrap();
    let expected = [("B", 1), ("a", 1), ("aa", 2), ("b", 1), ("c", 1), ("é", 2)];
    assert_eq!(listed, expected.map(|(k, v)| (k.to_string(), v)).to_vec());
    assert_eq!(
        store.list::<usize>("card").unwrap(),
        vec![("sa".to_string(), 100)]
    );
    assert_eq!(
        store.list::<usize>("").unwrap(),
        vec![("cardsa".to_string(), 102)]
    );
    assert!(store.list::<usize>("nothing").unwrap().is_empty());
}

#[test]
fn values_longer_than_the_first_json_buffer_round_trip() {
    // The plaintext JSON buffer starts at 512 bytes and grows (zeroizing what it gives up).
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    let mut big = card();
    big.tags = (0..500).map(|i| format!("tag-{i:04}")).collect();
    store.put("atc", "big", &big).unwrap();
    assert_eq!(store.get::<Card>("atc", "big").unwrap(), Some(big));
}

#[test]
fn sealed_value_has_the_documented_format() {
    // Recompute everything with ring and hand-built associated data, independently of the store.
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    store.put("atc", "card-1", &card()).unwrap();

    let raw_key = b"\0\0\0\0\0\0\0\x03atccard-1".to_vec();
    let sealed = store
        .raw()
        .get(&raw_key)
        .unwrap()
        .expect("value under the documented key");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir.join("store-meta.json")).unwrap()).unwrap();
    let wrapped = hex::decode(meta["wrapped_data_key"].as_str().unwrap()).unwrap();
    let data_key = fx.key_store().unwrap_key(DATA_KEY_ALIAS, &wrapped).unwrap();

    let (nonce, body) = sealed.split_at(12);
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &data_key).unwrap());
    let aad = [b"wallet-store/v1\0".as_slice(), &raw_key].concat();
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).unwrap(),
            Aad::from(&aad),
            &mut body,
        )
        .unwrap();
    assert_eq!(
        plain,
        br#"{"pan_suffix":"4242","atc":7,"keys_left":3,"tags":["debit","pboc"]}"#.as_slice()
    );
    assert!(
        !sealed.windows(4).any(|w| w == b"4242"),
        "value stored in clear"
    );
}

#[test]
fn flipped_byte_is_tampered() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    store.put("cards", "c1", &card()).unwrap();
    let k = db_key("cards", "c1");
    let original = store.raw().get(&k).unwrap().unwrap().to_vec();
    for index in [0, 12, original.len() / 2, original.len() - 1] {
        let mut bad = original.clone();
        bad[index] ^= 0x80;
        store.raw().insert(&k, bad).unwrap();
        assert!(
            matches!(
                store.get::<Card>("cards", "c1"),
                Err(StoreError::Tampered(_))
            ),
            "byte {index}"
        );
    }
    store
        .raw()
        .insert(&k, &original[..original.len() - 1])
        .unwrap();
    assert!(matches!(
        store.get::<Card>("cards", "c1"),
        Err(StoreError::Tampered(_))
    ));
    store.raw().insert(&k, &b""[..]).unwrap();
    assert!(matches!(
        store.get::<Card>("cards", "c1"),
        Err(StoreError::Tampered(_))
    ));
    store.raw().insert(&k, original).unwrap();
    assert_eq!(store.get::<Card>("cards", "c1").unwrap(), Some(card()));
}

#[test]
fn value_copied_to_another_key_or_namespace_is_tampered() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    store.put("limits", "daily", &500u32).unwrap();
    let sealed = store.raw().get(db_key("limits", "daily")).unwrap().unwrap();
    store
        .raw()
        .insert(db_key("limits", "monthly"), sealed.clone())
        .unwrap();
    store
        .raw()
        .insert(db_key("limitsx", "daily"), sealed)
        .unwrap();
    assert!(matches!(
        store.get::<u32>("limits", "monthly"),
        Err(StoreError::Tampered(_))
    ));
    assert!(matches!(
        store.get::<u32>("limitsx", "daily"),
        Err(StoreError::Tampered(_))
    ));
    assert!(matches!(
        store.list::<u32>("limits"),
        Err(StoreError::Tampered(_))
    ));
    assert_eq!(store.get::<u32>("limits", "daily").unwrap(), Some(500));
}

#[test]
fn reopen_persists_data() {
    let fx = Fixture::new();
    {
        let store = fx.open().unwrap();
        store.put("cards", "c1", &card()).unwrap();
        store.put("cards", "c2", &42u8).unwrap();
    }
    let store = fx.open().unwrap();
    assert_eq!(store.get::<Card>("cards", "c1").unwrap(), Some(card()));
    assert_eq!(store.get::<u8>("cards", "c2").unwrap(), Some(42));
}

#[test]
fn durable_put_survives_drop_and_reopen() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    store.put_durable("atc", "card-1", &41u16).unwrap();
    let clone = store.clone();
    drop(store);
    clone.put_durable("atc", "card-1", &42u16).unwrap();
    drop(clone);
    assert_eq!(
        fx.open().unwrap().get::<u16>("atc", "card-1").unwrap(),
        Some(42)
    );
}

/// Environment variable that turns [`crash_child`] into a writer that aborts.
const CRASH_DIR_ENV: &str = "WALLET_STORE_CRASH_DIR";

/// Not a test on its own: [`durable_put_survives_a_crash`] runs it in a child process.
#[test]
#[ignore = "child process of durable_put_survives_a_crash"]
fn crash_child() {
    let Some(root) = std::env::var_os(CRASH_DIR_ENV) else {
        return;
    };
    let root = PathBuf::from(root);
    let key_store = Arc::new(SoftwareKeyStore::open(&root.join("kek.bin")).unwrap());
    let store = Store::open(&root.join("store"), key_store).unwrap();
    store.put_durable("atc", "card-1", &0x0102u16).unwrap();
    store.remove("atc", "gone").unwrap();
    // No destructors, no sled shutdown flush: only what reached the file survives.
    std::process::abort();
}

#[test]
fn durable_put_survives_a_crash() {
    let fx = Fixture::new();
    fx.open()
        .unwrap()
        .put_durable("atc", "gone", &1u16)
        .unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::crash_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_ENV, fx._tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have aborted");
    let store = fx.open().unwrap();
    assert_eq!(store.get::<u16>("atc", "card-1").unwrap(), Some(0x0102));
    assert_eq!(store.get::<u16>("atc", "gone").unwrap(), None);
}

#[test]
fn remove_deletes_durably_and_reports_existence() {
    let fx = Fixture::new();
    {
        let store = fx.open().unwrap();
        store.put("keys", "k1", &1u8).unwrap();
        store.put("keys", "k2", &2u8).unwrap();
        assert!(store.remove("keys", "k1").unwrap());
        assert!(!store.remove("keys", "k1").unwrap());
        assert!(!store.remove("keys", "never").unwrap());
        assert_eq!(store.get::<u8>("keys", "k1").unwrap(), None);
    }
    let store = fx.open().unwrap();
    assert_eq!(
        store.list::<u8>("keys").unwrap(),
        vec![("k2".to_string(), 2)]
    );
}

#[test]
fn update_durable_counts_and_aborts_on_error() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    let next = |atc: Option<u16>| -> Result<u16, StoreError> {
        match atc {
            None => Ok(1),
            Some(0xFFFF) => Err(StoreError::Corrupt("ATC exhausted".into())),
            Some(n) => Ok(n + 1),
        }
    };
    assert_eq!(store.update_durable("atc", "c", next).unwrap(), 1);
    assert_eq!(store.update_durable("atc", "c", next).unwrap(), 2);
    store.put("atc", "c", &0xFFFFu16).unwrap();
    assert!(store.update_durable("atc", "c", next).is_err());
    assert_eq!(
        store.get::<u16>("atc", "c").unwrap(),
        Some(0xFFFF),
        "failed update wrote nothing"
    );
}

#[test]
fn concurrent_updates_are_atomic() {
    let fx = Fixture::new();
    let store = fx.open().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    store
                        .update_durable("atc", "c", |n: Option<u32>| {
                            Ok::<_, StoreError>(n.unwrap_or(0) + 1)
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.get::<u32>("atc", "c").unwrap(), Some(100));
}

#[test]
fn another_key_store_cannot_open_and_changes_nothing() {
    let fx = Fixture::new();
    populated(&fx);
    let before = snapshot(&fx.dir);
    let stranger = Arc::new(SoftwareKeyStore::open(&fx._tmp.path().join("other-kek.bin")).unwrap());
    let err = Store::open(&fx.dir, stranger).unwrap_err();
    assert!(
        matches!(err, StoreError::KeyStore(KeyStoreError::Unwrap)),
        "{err}"
    );
    assert_eq!(snapshot(&fx.dir), before);
    assert_eq!(
        fx.open().unwrap().get::<Card>("cards", "c1").unwrap(),
        Some(card())
    );
}

#[test]
fn corrupt_meta_is_corrupt_and_changes_nothing() {
    let fx = Fixture::new();
    populated(&fx);
    std::fs::write(fx.dir.join("store-meta.json"), b"{\"schema_version\":1,").unwrap();
    let before = snapshot(&fx.dir);
    let err = fx.open().unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("store-meta.json")),
        "{err}"
    );
    assert_eq!(snapshot(&fx.dir), before);
}

#[test]
fn newer_version_is_refused_and_changes_nothing() {
    let fx = Fixture::new();
    populated(&fx);
    let meta_path = fx.dir.join("store-meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["schema_version"] = 2.into();
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let before = snapshot(&fx.dir);
    let err = fx.open().unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerVersion {
                found: 2,
                supported: 1
            }
        ),
        "{err}"
    );
    assert_eq!(snapshot(&fx.dir), before);
}

#[test]
fn db_without_meta_is_corrupt_and_changes_nothing() {
    let fx = Fixture::new();
    populated(&fx);
    std::fs::remove_file(fx.dir.join("store-meta.json")).unwrap();
    let before = snapshot(&fx.dir);
    let err = fx.open().unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("store-meta.json")),
        "{err}"
    );
    assert_eq!(snapshot(&fx.dir), before);
}

#[test]
fn db_sled_rejects_is_corrupt_and_changes_nothing() {
    let fx = Fixture::new();
    populated(&fx);
    std::fs::write(
        fx.dir.join("db/conf"),
        b"this is not a sled configuration file\n",
    )
    .unwrap();
    let before = snapshot(&fx.dir);
    let err = fx.open().unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert_eq!(snapshot(&fx.dir), before);
}

#[test]
fn db_that_is_a_file_is_corrupt_and_changes_nothing() {
    let fx = Fixture::new();
    populated(&fx);
    std::fs::remove_dir_all(fx.dir.join("db")).unwrap();
    std::fs::write(fx.dir.join("db"), b"x").unwrap();
    let before = snapshot(&fx.dir);
    assert!(matches!(fx.open(), Err(StoreError::Corrupt(_))));
    assert_eq!(snapshot(&fx.dir), before);
}

#[test]
fn meta_without_db_opens_empty_with_the_same_key() {
    // The state a crash between writing the metadata and creating sled leaves behind.
    let fx = Fixture::new();
    populated(&fx);
    let meta = std::fs::read(fx.dir.join("store-meta.json")).unwrap();
    std::fs::remove_dir_all(fx.dir.join("db")).unwrap();
    let store = fx.open().unwrap();
    assert_eq!(store.get::<Card>("cards", "c1").unwrap(), None);
    assert_eq!(std::fs::read(fx.dir.join("store-meta.json")).unwrap(), meta);
}

#[test]
fn a_second_open_of_an_open_store_is_an_io_error_not_corruption() {
    let fx = Fixture::new();
    let _first = fx.open().unwrap();
    let err = fx.open().unwrap_err();
    assert!(matches!(err, StoreError::Io(_)), "{err}");
}
