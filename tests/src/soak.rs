//! The fault campaign's pure core: a seeded plan of uploads and faults, the
//! request bound that rules out retry storms, and the report.
//!
//! The drivers that run a plan against real servers live in `tests/soak/`
//! (`cargo xtask soak`); everything here is plain values, so it is unit-tested
//! and a failing run can be replayed from its seed alone.

use std::fmt;
use std::time::Duration;

/// SplitMix64: small, fast and reproducible on every platform, which is all
/// a replayable campaign needs (not cryptographic).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for block in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            block.copy_from_slice(&bytes[..block.len()]);
        }
    }
}

/// The largest upload of a campaign.
pub const MAX_SIZE: u64 = 64 << 20;

/// Chunk sizes a campaign draws from.
pub const CHUNK_SIZES: [u64; 3] = [256 << 10, 1 << 20, 8 << 20];

/// Which request of an upload a fault hits, counted per method from the
/// upload's start (retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The n-th PATCH (1-based).
    Patch(u64),
    /// The n-th HEAD (1-based).
    Head(u64),
}

/// A fault, independent of the server that applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Drop the connection after `bytes` of the body; the server then loses the
    /// last `lose` of them (a crash before syncing).
    Cut {
        /// Body bytes stored before the cut.
        bytes: u64,
        /// Bytes lost again.
        lose: u64,
    },
    /// Answer `status` without touching the upload (500, 503, 423, 429, 409).
    Status {
        /// The status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Say nothing for longer than the client's stall timeout.
    Stall,
    /// The upload expires before this request is handled.
    Expire,
}

impl FaultKind {
    /// A short name for the report.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Cut { .. } => "cut",
            FaultKind::Status { status: 500, .. } => "500",
            FaultKind::Status { status: 503, .. } => "503",
            FaultKind::Status { status: 423, .. } => "423",
            FaultKind::Status { status: 429, .. } => "429",
            FaultKind::Status { status: 409, .. } => "409",
            FaultKind::Status { .. } => "status",
            FaultKind::Stall => "stall",
            FaultKind::Expire => "expired",
        }
    }
}

/// One planned fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedFault {
    /// The request it hits.
    pub target: Target,
    /// What goes wrong.
    pub kind: FaultKind,
}

/// One upload of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPlan {
    /// Its index in the campaign.
    pub index: usize,
    /// Bytes.
    pub size: u64,
    /// The chunk size the client uses.
    pub chunk: u64,
    /// Seed of the file's content.
    pub content_seed: u64,
    /// Whether the first chunk goes with the creation request (where the
    /// client and server offer it).
    pub creation_with_upload: bool,
    /// Faults, in no particular order.
    pub faults: Vec<PlannedFault>,
}

impl UploadPlan {
    /// Data requests a fault-free upload needs: one per chunk, at least one.
    pub fn chunks(&self) -> u64 {
        self.size.div_ceil(self.chunk).max(1)
    }
}

/// The campaign for `seed`: `runs` uploads whose sizes start with the edges
/// (0 B, 1 B, chunk − 1, chunk, chunk + 1, the maximum) and then mix small
/// uploads of a few chunks with log-uniform sizes up to [`MAX_SIZE`]. Each
/// upload gets 0 to 3 faults; at most one expiry, as a real server expires an
/// upload once.
pub fn plan(seed: u64, runs: usize) -> Vec<UploadPlan> {
    let mut rng = Rng::new(seed);
    (0..runs)
        .map(|index| {
            let chunk = CHUNK_SIZES[rng.below(CHUNK_SIZES.len() as u64) as usize];
            let size = match index {
                0 => 0,
                1 => 1,
                2 => chunk - 1,
                3 => chunk,
                4 => chunk + 1,
                5 => MAX_SIZE,
                _ if rng.chance(40) => rng.below(4 * chunk + 1),
                _ => log_uniform(&mut rng, MAX_SIZE),
            };
            let mut plan = UploadPlan {
                index,
                size,
                chunk,
                content_seed: rng.next_u64(),
                creation_with_upload: rng.chance(50),
                faults: Vec::new(),
            };
            let count = match rng.below(10) {
                0 | 1 => 0,
                2..=5 => 1,
                6..=8 => 2,
                _ => 3,
            };
            let mut expired = false;
            for _ in 0..count {
                let fault = draw_fault(&mut rng, &plan, expired);
                expired |= fault.kind == FaultKind::Expire;
                // Two faults on one request: keep the first.
                if plan.faults.iter().all(|f| f.target != fault.target) {
                    plan.faults.push(fault);
                }
            }
            plan
        })
        .collect()
}

/// Uniform in log space over `1..=max`: as many 1–2 MiB uploads as 32–64 MiB ones.
fn log_uniform(rng: &mut Rng, max: u64) -> u64 {
    let bits = 64 - max.leading_zeros() as u64;
    let exponent = rng.below(bits);
    let low = 1u64 << exponent;
    (low + rng.below(low)).min(max)
}

fn draw_fault(rng: &mut Rng, plan: &UploadPlan, expired: bool) -> PlannedFault {
    // The PATCHes of a fault-free run, plus one for the retry of an earlier fault.
    let patches = plan.chunks() + 1;
    let kind = match rng.below(if expired { 9 } else { 10 }) {
        0 | 1 => {
            let bytes = rng.below(plan.chunk.min(plan.size.max(1)) + 1);
            let lose = if rng.chance(30) {
                rng.below(bytes + 1)
            } else {
                0
            };
            FaultKind::Cut { bytes, lose }
        }
        2 => FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        3 => FaultKind::Status {
            status: 503,
            retry_after: rng.chance(50).then_some(0),
        },
        4 => FaultKind::Status {
            status: 423,
            retry_after: None,
        },
        5 => FaultKind::Status {
            status: 429,
            retry_after: Some(rng.below(2)),
        },
        6 => FaultKind::Stall,
        7 | 8 => FaultKind::Status {
            status: 409,
            retry_after: None,
        },
        _ => FaultKind::Expire,
    };
    // 409 answers a PATCH's offset; HEADs get the rest.
    let on_head = !matches!(kind, FaultKind::Status { status: 409, .. }) && rng.chance(15);
    let target = if on_head {
        Target::Head(1 + rng.below(2))
    } else {
        Target::Patch(1 + rng.below(patches))
    };
    PlannedFault { target, kind }
}

/// Requests a client may make for one upload before we call it a retry storm.
///
/// A fault-free upload of `c` chunks needs at most `c + 3` requests (OPTIONS,
/// creation, `c` data requests, the verifying HEAD). Each fired fault may cost
/// the failed request, a HEAD to re-sync, and the repeated data request, plus
/// one spare: 4 requests. A stall may cost 2 more: the server is still working
/// on the abandoned request when the client comes back, so the client can meet
/// a 423 (locked) and then a 409 (the abandoned request's bytes landed), each
/// followed by a HEAD. An expiry restarts the upload (another `c + 3`), and so
/// does each rerun of a failed call. So:
///
/// `requests ≤ (c + 3) × (1 + restarts + reruns) + 4 × faults + 2 × stalls`
pub fn request_bound(chunks: u64, faults: u64, stalls: u64, restarts: u64, reruns: u64) -> u64 {
    (chunks + 3) * (1 + restarts + reruns) + 4 * faults + 2 * stalls
}

/// What one upload of a campaign did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadResult {
    /// Bytes.
    pub size: u64,
    /// Faults that fired, by name.
    pub faults: Vec<&'static str>,
    /// Retries the client reported (its `Retrying` events).
    pub retries: u64,
    /// Uploads started over after an expiry.
    pub restarts: u64,
    /// Calls after the first one (the campaign reruns a failed call, as a user would).
    pub reruns: u64,
    /// Body bytes the server had already acknowledged, sent again.
    pub resent: u64,
    /// Requests the server saw.
    pub requests: u64,
    /// The bound for those requests ([`request_bound`]).
    pub bound: u64,
    /// Why the upload failed; `None` if it ended complete and byte-equal.
    pub failure: Option<String>,
}

/// A campaign's totals.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// What was driven (`tus client vs sandbox`, say).
    pub leg: String,
    /// The seed.
    pub seed: u64,
    /// Each upload, in order.
    pub uploads: Vec<UploadResult>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Report {
    /// Uploads that ended complete, byte-equal and within the request bound.
    pub fn passed(&self) -> usize {
        self.uploads.iter().filter(|u| u.ok()).count()
    }

    /// The others.
    pub fn failed(&self) -> usize {
        self.uploads.len() - self.passed()
    }
}

impl UploadResult {
    /// Complete, byte-equal, nothing acknowledged sent twice, within the bound.
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.resent == 0 && self.requests <= self.bound
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sum = |field: fn(&UploadResult) -> u64| self.uploads.iter().map(field).sum::<u64>();
        let faults: u64 = sum(|u| u.faults.len() as u64);
        let mut by_kind: Vec<(&str, u64)> = Vec::new();
        for name in self.uploads.iter().flat_map(|u| &u.faults) {
            match by_kind.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += 1,
                None => by_kind.push((name, 1)),
            }
        }
        by_kind.sort();
        let kinds: Vec<String> = by_kind.iter().map(|(n, c)| format!("{n} {c}")).collect();
        let bytes = sum(|u| u.size);
        writeln!(f, "soak [{}] seed {}", self.leg, self.seed)?;
        writeln!(
            f,
            "  uploads {} ({:.1} MiB, {:.1} s), faults injected {faults} ({})",
            self.uploads.len(),
            bytes as f64 / (1 << 20) as f64,
            self.elapsed.as_secs_f64(),
            if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            },
        )?;
        writeln!(
            f,
            "  retries {}, restarts after expiry {}, reruns {}, acknowledged bytes re-sent {}",
            sum(|u| u.retries),
            sum(|u| u.restarts),
            sum(|u| u.reruns),
            sum(|u| u.resent),
        )?;
        // A fault-free upload sits at its base exactly; the faulted ones show
        // how much of the allowance for faults the retries used.
        let worst = self
            .uploads
            .iter()
            .filter(|u| u.bound > 0 && !u.faults.is_empty())
            .map(|u| u.requests as f64 / u.bound as f64)
            .fold(0.0, f64::max);
        writeln!(
            f,
            "  requests {} (bound {}; worst faulted upload at {:.0}% of its bound)",
            sum(|u| u.requests),
            sum(|u| u.bound),
            worst * 100.0
        )?;
        for (index, upload) in self.uploads.iter().enumerate() {
            if upload.ok() {
                continue;
            }
            let reason = match &upload.failure {
                Some(reason) => reason.clone(),
                None if upload.resent > 0 => {
                    format!("{} acknowledged bytes sent again", upload.resent)
                }
                None => format!(
                    "{} requests, over the bound of {}",
                    upload.requests, upload.bound
                ),
            };
            writeln!(
                f,
                "  FAILED upload {index} ({} B, faults {:?}): {reason}",
                upload.size, upload.faults
            )?;
        }
        // Not `N passed, N failed`: the driver prints that once, over all legs.
        write!(
            f,
            "soak [{}] seed {}: {} of {} uploads ok",
            self.leg,
            self.seed,
            self.passed(),
            self.uploads.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_campaign_and_another_seed_another() {
        assert_eq!(plan(7, 50), plan(7, 50));
        assert_ne!(plan(7, 50), plan(8, 50));
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 13]);
    }

    #[test]
    fn a_campaign_starts_with_the_edge_sizes_and_stays_in_range() {
        let campaign = plan(42, 400);
        let sizes: Vec<u64> = campaign.iter().take(6).map(|u| u.size).collect();
        let chunks: Vec<u64> = campaign.iter().take(6).map(|u| u.chunk).collect();
        assert_eq!(
            sizes,
            vec![0, 1, chunks[2] - 1, chunks[3], chunks[4] + 1, MAX_SIZE]
        );
        assert!(campaign.iter().all(|u| u.size <= MAX_SIZE));
        assert!(campaign.iter().all(|u| CHUNK_SIZES.contains(&u.chunk)));
        // Both small and large uploads, and every kind of fault, appear.
        assert!(campaign.iter().any(|u| u.size > 16 << 20));
        assert!(campaign.iter().skip(6).any(|u| u.size < 1 << 20));
        let names: std::collections::BTreeSet<&str> = campaign
            .iter()
            .flat_map(|u| u.faults.iter().map(|f| f.kind.name()))
            .collect();
        for name in ["cut", "500", "503", "423", "429", "409", "stall", "expired"] {
            assert!(names.contains(name), "{name} never planned: {names:?}");
        }
        assert!(campaign.iter().any(|u| u.faults.is_empty()));
    }

    #[test]
    fn an_upload_has_at_most_one_expiry_and_one_fault_per_request() {
        for upload in plan(3, 1000) {
            let expiries = upload
                .faults
                .iter()
                .filter(|f| f.kind == FaultKind::Expire)
                .count();
            assert!(expiries <= 1, "{upload:?}");
            for (i, a) in upload.faults.iter().enumerate() {
                assert!(upload.faults[i + 1..].iter().all(|b| b.target != a.target));
            }
            for fault in &upload.faults {
                if let Target::Head(_) = fault.target {
                    assert!(!matches!(fault.kind, FaultKind::Status { status: 409, .. }));
                }
                if let FaultKind::Cut { bytes, lose } = fault.kind {
                    assert!(lose <= bytes && bytes <= upload.chunk);
                }
            }
        }
    }

    #[test]
    fn the_bound_grows_with_chunks_faults_and_restarts() {
        assert_eq!(request_bound(1, 0, 0, 0, 0), 4);
        assert_eq!(request_bound(10, 0, 0, 0, 0), 13);
        assert_eq!(request_bound(10, 2, 0, 0, 0), 21);
        assert_eq!(request_bound(10, 1, 1, 0, 0), 19);
        assert_eq!(request_bound(10, 1, 0, 1, 0), 30);
        assert_eq!(request_bound(10, 0, 0, 0, 1), 26);
    }

    #[test]
    fn a_report_counts_and_names_what_failed() {
        let ok = UploadResult {
            size: 10,
            requests: 4,
            bound: 4,
            faults: vec!["cut"],
            retries: 1,
            ..UploadResult::default()
        };
        let storm = UploadResult {
            requests: 40,
            bound: 4,
            ..UploadResult::default()
        };
        let resent = UploadResult {
            resent: 7,
            bound: 4,
            ..UploadResult::default()
        };
        let report = Report {
            leg: "test".into(),
            seed: 9,
            uploads: vec![ok, storm, resent],
            elapsed: Duration::from_secs(1),
        };
        assert_eq!((report.passed(), report.failed()), (1, 2));
        let text = report.to_string();
        assert!(
            text.ends_with("soak [test] seed 9: 1 of 3 uploads ok"),
            "{text}"
        );
        assert!(text.contains("over the bound of 4"), "{text}");
        assert!(text.contains("7 acknowledged bytes sent again"), "{text}");
        assert!(text.contains("faults injected 1 (cut 1)"), "{text}");
    }
}
