//! Every key in the store, and which of them signs and which are published
//! at a given time, for each kind of key (RS256, ES256) on its own.

use std::sync::Arc;

use super::{KeyError, SigningAlg, SigningKey};
use crate::store::StoredKey;

/// Every key in the store, and which of them signs and which are published
/// at a given time. Rotation is data, not process state: a key signs from
/// its `activates_at`, so replicas that have loaded it switch together; it
/// is published from the moment it is loaded, so resource servers hold it
/// before the first token it signs; a key stays published until `grace`
/// after its successor started signing (every token it signed has expired
/// by then), then it is retired: kept in the store, no longer published.
/// Each kind of key (RSA, P-256) rotates on its own by these rules: an EC
/// key succeeds only an EC key, and a tenant signs with the current key of
/// its own `signing_alg`.
pub struct KeyRing {
    /// One chain per kind, in `SigningAlg::ALL` order.
    chains: [Chain; 2],
}

/// The keys of one kind in signing order (see `signing_order`), with when
/// each signs.
#[derive(Default)]
struct Chain {
    times: Vec<KeyTimes>,
    keys: Vec<Arc<SigningKey>>,
}

/// When a key was made and when it signs from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyTimes {
    kid: String,
    created_at: i64,
    activates_at: i64,
}

impl KeyTimes {
    fn of(key: &StoredKey) -> KeyTimes {
        KeyTimes {
            kid: key.kid.clone(),
            created_at: key.created_at,
            activates_at: key.activates_at,
        }
    }
}

fn chain_index(alg: SigningAlg) -> usize {
    match alg {
        SigningAlg::Rs256 => 0,
        SigningAlg::Es256 => 1,
    }
}

impl KeyRing {
    /// Loads `stored`, reusing the already-parsed keys of `previous`.
    pub fn load(stored: &[StoredKey], previous: Option<&KeyRing>) -> Result<KeyRing, KeyError> {
        if stored.is_empty() {
            return Err(KeyError::Generate);
        }
        let mut sorted: Vec<&StoredKey> = stored.iter().collect();
        sorted.sort_by(|a, b| signing_order(&KeyTimes::of(a), &KeyTimes::of(b)));
        let mut chains: [Chain; 2] = Default::default();
        for key in sorted {
            let known = previous.and_then(|ring| ring.find(&key.kid));
            let loaded = match known {
                Some(loaded) if loaded.alg() == key.alg => loaded,
                _ => Arc::new(SigningKey::load(key)?),
            };
            let chain = &mut chains[chain_index(key.alg)];
            chain.times.push(KeyTimes::of(key));
            chain.keys.push(loaded);
        }
        Ok(KeyRing { chains })
    }

    fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.chains.iter().find_map(|chain| {
            chain
                .times
                .iter()
                .position(|t| t.kid == kid)
                .map(|i| chain.keys[i].clone())
        })
    }

    pub fn len(&self) -> usize {
        self.chains.iter().map(|c| c.keys.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.chains
            .iter()
            .any(|c| c.times.iter().any(|t| t.kid == kid))
    }

    /// Whether the ring holds a key of `alg`'s kind.
    pub fn has(&self, alg: SigningAlg) -> bool {
        !self.chains[chain_index(alg)].keys.is_empty()
    }

    /// The key of `alg`'s kind that signs at `now`; `None` when the store
    /// has no key of that kind.
    pub fn signing(&self, now: i64, alg: SigningAlg) -> Option<Arc<SigningKey>> {
        let chain = &self.chains[chain_index(alg)];
        if chain.keys.is_empty() {
            return None;
        }
        Some(chain.keys[signing_index(&chain.times, now)].clone())
    }

    /// The keys published at `now`: each kind's, in the order they sign
    /// (RSA first).
    pub fn published(&self, now: i64, grace: i64) -> Vec<Arc<SigningKey>> {
        self.chains
            .iter()
            .flat_map(|chain| {
                published_indices(&chain.times, now, grace)
                    .into_iter()
                    .map(|i| chain.keys[i].clone())
            })
            .collect()
    }

    /// What each key does at `now`: each kind's keys in signing order
    /// (RSA first), with their kind.
    pub fn statuses(&self, now: i64, grace: i64) -> Vec<(&str, SigningAlg, KeyStatus)> {
        SigningAlg::ALL
            .into_iter()
            .flat_map(|alg| {
                statuses(&self.chains[chain_index(alg)].times, now, grace)
                    .into_iter()
                    .map(move |(kid, status)| (kid, alg, status))
            })
            .collect()
    }
}

/// What each key of one chain does at `now`.
fn statuses(times: &[KeyTimes], now: i64, grace: i64) -> Vec<(&str, KeyStatus)> {
    if times.is_empty() {
        return Vec::new();
    }
    let signing = signing_index(times, now);
    times
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let status = match (i.cmp(&signing), times.get(i + 1)) {
                (std::cmp::Ordering::Equal, _) => KeyStatus::Signing,
                (std::cmp::Ordering::Greater, _) => KeyStatus::Pending {
                    signs_from: key.activates_at,
                },
                (std::cmp::Ordering::Less, Some(next)) => {
                    let retired_at = next.activates_at.saturating_add(grace);
                    if now < retired_at {
                        KeyStatus::Superseded {
                            at: next.activates_at,
                            retired_at,
                        }
                    } else {
                        KeyStatus::Retired { at: retired_at }
                    }
                }
                // A key before the signing one always has a successor.
                (std::cmp::Ordering::Less, None) => KeyStatus::Signing,
            };
            (key.kid.as_str(), status)
        })
        .collect()
}

/// What a key does at a given time (Unix seconds in each variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Published, signing from `signs_from`.
    Pending { signs_from: i64 },
    /// Signing new tokens.
    Signing,
    /// Replaced `at`; published until `retired_at` for the tokens it signed.
    Superseded { at: i64, retired_at: i64 },
    /// No longer published since `at`; kept in the store.
    Retired { at: i64 },
}

fn signing_order(a: &KeyTimes, b: &KeyTimes) -> std::cmp::Ordering {
    (a.activates_at, a.created_at, &a.kid).cmp(&(b.activates_at, b.created_at, &b.kid))
}

/// Of keys in signing order, the last one active at `now`; the first one
/// when none is yet (it cannot be: the first key signs from its creation).
fn signing_index(keys: &[KeyTimes], now: i64) -> usize {
    keys.iter()
        .rposition(|k| k.activates_at <= now)
        .unwrap_or(0)
}

/// Pending keys, the signing key, and each key superseded less than
/// `grace` ago.
fn published_indices(keys: &[KeyTimes], now: i64, grace: i64) -> Vec<usize> {
    if keys.is_empty() {
        return Vec::new();
    }
    let signing = signing_index(keys, now);
    (0..keys.len())
        .filter(|&i| {
            i >= signing
                || keys
                    .get(i + 1)
                    .is_some_and(|next| now < next.activates_at.saturating_add(grace))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(kid: &str, activates_at: i64) -> KeyTimes {
        KeyTimes {
            kid: kid.into(),
            created_at: activates_at - 100,
            activates_at,
        }
    }

    #[test]
    fn a_rotation_from_announcement_to_retirement() {
        let (k1, k2) = (times("k1", 0), times("k2", 1000));
        let keys = [k1, k2];
        let grace = 3600 + 60;
        // Announced: k2 is published, k1 still signs.
        assert_eq!(signing_index(&keys, 500), 0);
        assert_eq!(published_indices(&keys, 500, grace), [0, 1]);
        // Active: k2 signs; k1 stays published for its tokens.
        assert_eq!(signing_index(&keys, 1000), 1);
        assert_eq!(published_indices(&keys, 1000, grace), [0, 1]);
        assert_eq!(published_indices(&keys, 1000 + grace - 1, grace), [0, 1]);
        // Retired: every token k1 signed has expired.
        assert_eq!(published_indices(&keys, 1000 + grace, grace), [1]);
    }

    #[test]
    fn back_to_back_rotations_retire_each_key_after_its_own_successor() {
        let (k1, k2, k3) = (times("k1", 0), times("k2", 100), times("k3", 200));
        let keys = [k1, k2, k3];
        assert_eq!(signing_index(&keys, 250), 2);
        assert_eq!(published_indices(&keys, 250, 120), [1, 2]);
        assert_eq!(published_indices(&keys, 150, 120), [0, 1, 2]);
        assert_eq!(published_indices(&keys, 330, 120), [2]);
    }

    #[test]
    fn each_key_says_what_it_does() {
        let chain = [times("k1", 0), times("k2", 1000), times("k3", 5000)];
        let grace = 100;
        assert_eq!(
            statuses(&chain, 1050, grace),
            [
                (
                    "k1",
                    KeyStatus::Superseded {
                        at: 1000,
                        retired_at: 1100
                    }
                ),
                ("k2", KeyStatus::Signing),
                ("k3", KeyStatus::Pending { signs_from: 5000 }),
            ]
        );
        assert_eq!(
            statuses(&chain, 1100, grace)[0],
            ("k1", KeyStatus::Retired { at: 1100 })
        );
    }

    #[test]
    fn a_pending_key_never_signs_early() {
        let (k1, k2) = (times("k1", 0), times("k2", 1_000_000));
        assert_eq!(signing_index(&[k1, k2], 999_999), 0);
    }

    #[test]
    fn each_kind_rotates_on_its_own() {
        use time::OffsetDateTime;
        let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap();
        let rsa = SigningKey::generate(at(1_000), SigningAlg::Rs256).unwrap();
        let ec1 = SigningKey::generate(at(2_000), SigningAlg::Es256).unwrap();
        let mut ec2 = SigningKey::generate(at(3_000), SigningAlg::Es256).unwrap();
        ec2.activates_at = 4_000;
        let ring = KeyRing::load(&[ec2.clone(), rsa.clone(), ec1.clone()], None).unwrap();
        let kid = |k: Option<Arc<SigningKey>>| k.unwrap().kid().to_owned();
        // A pending EC key does not take over from the RSA key, nor early.
        assert_eq!(kid(ring.signing(3_500, SigningAlg::Rs256)), rsa.kid);
        assert_eq!(kid(ring.signing(3_500, SigningAlg::Es256)), ec1.kid);
        assert_eq!(kid(ring.signing(4_000, SigningAlg::Es256)), ec2.kid);
        assert_eq!(kid(ring.signing(9_999_999, SigningAlg::Rs256)), rsa.kid);
        let published = |now| {
            ring.published(now, 100)
                .iter()
                .map(|k| k.kid().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(published(3_500), [rsa.kid.as_str(), &ec1.kid, &ec2.kid]);
        // The old EC key retires after its EC successor; the RSA key stays.
        assert_eq!(published(4_100), [rsa.kid.as_str(), &ec2.kid]);
        let statuses = ring.statuses(4_100, 100);
        assert_eq!(
            statuses,
            [
                (rsa.kid.as_str(), SigningAlg::Rs256, KeyStatus::Signing),
                (
                    ec1.kid.as_str(),
                    SigningAlg::Es256,
                    KeyStatus::Retired { at: 4_100 }
                ),
                (ec2.kid.as_str(), SigningAlg::Es256, KeyStatus::Signing),
            ]
        );
        // A ring without EC keys signs nothing with ES256.
        let rsa_only = KeyRing::load(&[rsa], Some(&ring)).unwrap();
        assert!(rsa_only.signing(0, SigningAlg::Es256).is_none());
        assert!(!rsa_only.has(SigningAlg::Es256));
    }
}
