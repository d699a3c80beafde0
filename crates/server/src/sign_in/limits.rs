//! The limits on password hashing, the one expensive thing an
//! unauthenticated caller can ask for: a rate per client IP address, and a
//! bound on hashes computed at once, which bounds their memory. And the
//! rate at which one address may look up user codes at the device login
//! page, which bounds guessing them.
//!
//! The rate is kept per process (a replica admits its own share); the
//! lockout, which is per user name, is kept in the store.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ProtocolError;
use crate::config::ServerConfig;

pub struct SignInLimits {
    per_ip: PerIp,
    /// User codes looked up at the device login page.
    user_codes: PerIp,
    hashes: Arc<Semaphore>,
    /// Checks hashing or waiting to: past it, a check is refused at once,
    /// so waiters cannot pile up holding in-flight permits.
    queue: Arc<Semaphore>,
}

/// Password checks that may wait for a hash, per hash computed at once.
const WAITING_PER_HASH: usize = 8;

/// A place among the hashes computed at once, held while hashing.
pub struct HashPermit {
    _hashing: OwnedSemaphorePermit,
    _queued: OwnedSemaphorePermit,
}

impl SignInLimits {
    pub fn new(config: &ServerConfig) -> SignInLimits {
        let hashes = config.max_concurrent_password_hashes.max(1);
        SignInLimits {
            per_ip: PerIp::new(
                config.password_checks_per_ip_burst,
                config.password_check_interval_per_ip,
            ),
            user_codes: PerIp::new(
                config.user_code_lookups_per_ip_burst,
                config.user_code_lookup_interval_per_ip,
            ),
            hashes: Arc::new(Semaphore::new(hashes)),
            queue: Arc::new(Semaphore::new(hashes * (1 + WAITING_PER_HASH))),
        }
    }

    /// Admits one password check from `ip`, or says in how many seconds
    /// the next one would be. Requests whose address is unknown (a router
    /// served without connection info) share one allowance.
    pub fn admit(&self, ip: Option<IpAddr>) -> Result<(), u32> {
        self.per_ip.admit(ip)
    }

    /// Admits one user-code lookup from `ip` at the device login page (a
    /// lookup, found or not, spends one), or says in how many seconds the
    /// next one would be.
    pub fn admit_user_code(&self, ip: Option<IpAddr>) -> Result<(), u32> {
        self.user_codes.admit(ip)
    }

    /// A place among the hashes computed at once, waited for behind a
    /// short queue; `None` when the queue is full.
    pub async fn hash_permit(&self) -> Result<Option<HashPermit>, ProtocolError> {
        let Ok(queued) = self.queue.clone().try_acquire_owned() else {
            return Ok(None);
        };
        let hashing = self
            .hashes
            .clone()
            .acquire_owned()
            .await
            .map_err(ProtocolError::internal)?;
        Ok(Some(HashPermit {
            _hashing: hashing,
            _queued: queued,
        }))
    }

    /// Forgets the addresses whose allowance is full again (bounds memory).
    pub fn forget_idle(&self) {
        self.per_ip.forget_idle();
        self.user_codes.forget_idle();
    }
}

/// A rate per client address: a burst, then one every interval.
struct PerIp(DefaultKeyedRateLimiter<IpAddr>);

impl PerIp {
    fn new(burst: u32, interval: std::time::Duration) -> PerIp {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        PerIp(RateLimiter::keyed(quota))
    }

    fn admit(&self, ip: Option<IpAddr>) -> Result<(), u32> {
        let key = ip.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), client_key);
        self.0.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.0.clock().now());
            u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX)
        })
    }

    fn forget_idle(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

/// Whose allowance a request spends: an IPv4 address, or an IPv6 /64 (what
/// one subscriber gets, so rotating addresses within it buys nothing); an
/// IPv4-mapped IPv6 address counts as its IPv4 address.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::client_key;

    #[test]
    fn an_ipv6_64_shares_one_allowance() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_eq!(key("192.0.2.7").to_string(), "192.0.2.7");
    }
}
