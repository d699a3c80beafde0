//! The limits on password hashing, the one expensive thing an
//! unauthenticated caller can ask for: a rate per client IP address, and a
//! bound on hashes computed at once, which bounds their memory.
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
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    hashes: Arc<Semaphore>,
}

impl SignInLimits {
    pub fn new(config: &ServerConfig) -> SignInLimits {
        let burst = NonZeroU32::new(config.password_checks_per_ip_burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(config.password_check_interval_per_ip)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        SignInLimits {
            per_ip: RateLimiter::keyed(quota),
            hashes: Arc::new(Semaphore::new(config.max_concurrent_password_hashes.max(1))),
        }
    }

    /// Admits one password check from `ip`, or says in how many seconds
    /// the next one would be. Requests whose address is unknown (a router
    /// served without connection info) share one allowance.
    pub fn admit(&self, ip: Option<IpAddr>) -> Result<(), u32> {
        let key = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.per_ip.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.per_ip.clock().now());
            u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX)
        })
    }

    /// A place among the hashes computed at once, waited for.
    pub async fn hash_permit(&self) -> Result<OwnedSemaphorePermit, ProtocolError> {
        self.hashes
            .clone()
            .acquire_owned()
            .await
            .map_err(ProtocolError::internal)
    }

    /// Forgets the addresses whose allowance is full again (bounds memory).
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_ip.shrink_to_fit();
    }
}
