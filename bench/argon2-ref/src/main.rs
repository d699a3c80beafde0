//! `argon2-ref WORKERS SECONDS`: Argon2id verifications of one password
//! against its PHC string, as the server does at every password grant
//! (`crates/server/src/secrets`: Argon2id, v0x13, the argon2 crate's
//! default parameters, which are OWASP's: m = 19 MiB, t = 2, p = 1), on
//! WORKERS threads for SECONDS. Prints `hashes=N seconds=S params=…`;
//! bench/run times the process for its CPU per hash.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let password = b"bench-argon2-password-42";
    let salt = SaltString::from_b64("YmVuY2gtYXJnb24yLXNhbHQ").expect("a valid salt");
    let phc = argon2()
        .hash_password(password, &salt)
        .expect("hashing")
        .to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (stop, count, phc) = (stop.clone(), count.clone(), phc.clone());
            std::thread::spawn(move || {
                let parsed = PasswordHash::new(&phc).expect("a PHC string");
                while !stop.load(Ordering::Relaxed) {
                    argon2()
                        .verify_password(password, &parsed)
                        .expect("the password verifies");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let p = Params::default();
    println!(
        "hashes={} seconds={elapsed:.3} params=m={}KiB,t={},p={}",
        count.load(Ordering::Relaxed),
        p.m_cost(),
        p.t_cost(),
        p.p_cost()
    );
}
