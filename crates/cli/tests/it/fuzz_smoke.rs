//! A bounded smoke of the fuzz targets (`fuzz/`): each target's check
//! (`fuzz/checks/`) on its seeds (`fuzz/seeds/`) and on seeded mutations
//! of them. `fuzz/run` runs the same checks coverage-guided, for millions
//! of executions; this keeps them compiling and passing in `./test`.

use std::path::PathBuf;

use crate::fuzz_checks;

/// Mutations per seed: a few thousand executions per target in all.
const MUTATIONS_PER_SEED: usize = 500;

type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("token_request", fuzz_checks::token_request::check),
    ("authorize_request", fuzz_checks::authorize_request::check),
    ("www_authenticate", fuzz_checks::www_authenticate::check),
    ("jws", fuzz_checks::jws::check),
    ("directory_file", fuzz_checks::directory_file::check),
    ("client_assertion", fuzz_checks::client_assertion::check),
];

/// xorshift64*: reproducible mutations without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four edits of `seed`: a byte changed, bytes inserted or removed,
/// a chunk repeated, or a chunk of `other` spliced in.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if at < data.len() => data[at] = rng.next() as u8,
            1 => {
                let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            2 if at < data.len() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            3 if at < data.len() => {
                let end = (at + 1 + rng.below(32)).min(data.len());
                let chunk = data[at..end].to_vec();
                data.splice(at..at, chunk);
            }
            _ if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => {}
        }
    }
    data
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

/// One test for all targets: their harness is one runtime, driven by one
/// thread at a time.
#[test]
fn every_fuzz_target_holds_on_its_seeds_and_their_mutations() {
    for (target, check) in TARGETS {
        let seeds = seeds(target);
        assert!(!seeds.is_empty(), "{target} has no seeds");
        let mut rng = Rng(0x5EED ^ target.len() as u64);
        for (i, seed) in seeds.iter().enumerate() {
            check(seed);
            let other = &seeds[(i + 1) % seeds.len()];
            for _ in 0..MUTATIONS_PER_SEED {
                let input = mutate(&mut rng, seed, other);
                let outcome = std::panic::catch_unwind(|| check(&input));
                assert!(
                    outcome.is_ok(),
                    "{target} failed on {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
}
