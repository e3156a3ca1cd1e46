//! A model-based property test: the state machine against an in-memory
//! simulated server (no sockets) that answers honestly or adversarially at
//! random, over many seeded schedules (`TUS_SCHEDULES`, 10,000 by default;
//! `cargo xtask soak` runs 1,000,000). A failure prints its seed;
//! `TUS_SCHEDULE_SEED=n` replays one schedule.
//!
//! Invariants: against an honest server no byte below the acknowledged offset
//! is re-sent and the stored bytes equal the source; against any server the
//! upload ends (done or a typed error) within `Machine::request_bound`
//! requests, never retries more than the budget allows, is never done unless
//! the source was checked unchanged after the last PATCH and a final HEAD said
//! offset = length = the source's length, never sends caller headers to an
//! untrusted origin, and never creates more than one upload per expiry restart.

use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, Uri};

use super::machine::{Action, Input, Machine, Start, origin};
use super::machine_tests::{config, headers};
use crate::core::retry::RetryPolicy;
use crate::error::{Error, StatusError};
use crate::progress::Event;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 3)) as u8
}

struct Upload {
    data: Vec<u8>,
    length: Option<u64>,
    gone: bool,
    /// The highest offset told to the client.
    acknowledged: u64,
}

struct Server {
    rng: Rng,
    honest: bool,
    /// Percent of requests answered with a fault (honest: transient ones).
    fault_rate: u64,
    lie_rate: u64,
    uploads: Vec<Upload>,
    other_origin: bool,
    insecure_location: bool,
}

const ORIGIN: &str = "https://tus.test";

impl Server {
    fn url(&self, id: usize) -> Uri {
        let host = if self.other_origin {
            "https://store.other.test"
        } else {
            ORIGIN
        };
        let scheme_host = if self.insecure_location {
            "http://tus.test"
        } else {
            host
        };
        format!("{scheme_host}/files/{id}").parse().unwrap()
    }

    fn id(url: &Uri) -> usize {
        // An unknown URL (a malformed Location the machine accepted) is 404.
        url.path()
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(usize::MAX)
    }

    fn failure(&mut self) -> Input {
        let error = match self.rng.below(6) {
            0 => Error::Timeout {
                method: "X".into(),
                url: "u".into(),
                after: Duration::from_secs(1),
            },
            1 => Error::Transport {
                method: "X".into(),
                url: "u".into(),
                connect: self.rng.chance(50),
                source: "reset".into(),
            },
            2 => status_error(500),
            3 => status_error(503),
            4 => status_error(423),
            _ => status_error(429),
        };
        Input::Failed {
            retry_after: self
                .rng
                .chance(30)
                .then(|| Duration::from_millis(self.rng.below(2000))),
            error,
        }
    }

    fn lie(&mut self, real: u64) -> Option<String> {
        match self.rng.below(5) {
            0 => None,
            1 => Some("-3".into()),
            2 => Some((real + 1 + self.rng.below(100)).to_string()),
            3 => Some(real.saturating_sub(1 + self.rng.below(20)).to_string()),
            _ => Some(self.rng.below(real.max(1) * 2).to_string()),
        }
    }

    fn create(&mut self, body: u64, length: Option<u64>, source: &[u8]) -> Input {
        if self.rng.chance(self.fault_rate) {
            return self.failure();
        }
        let id = self.uploads.len();
        let data = source[..body as usize].to_vec();
        self.uploads.push(Upload {
            acknowledged: body,
            data,
            length,
            gone: false,
        });
        let mut pairs = vec![("location", self.url(id).to_string())];
        if body > 0 {
            pairs.push(("upload-offset", body.to_string()));
        }
        if !self.honest && self.rng.chance(self.lie_rate) {
            return match self.rng.below(3) {
                0 => answer(201, &[]),
                1 => answer(200, &pairs),
                _ => answer(201, &[("location", ":::".into())]),
            };
        }
        answer(201, &pairs)
    }

    /// An upload made by the caller's creator (not a tus request, so honest).
    fn create_external(&mut self, length: u64) -> Uri {
        self.uploads.push(Upload {
            acknowledged: 0,
            data: Vec::new(),
            length: Some(length),
            gone: false,
        });
        self.url(self.uploads.len() - 1)
    }

    fn patch(
        &mut self,
        url: &Uri,
        offset: u64,
        len: u64,
        declare: Option<u64>,
        source: &[u8],
    ) -> Input {
        let id = Self::id(url);
        if id >= self.uploads.len() || self.uploads[id].gone {
            return Input::Failed {
                error: status_error(if self.rng.chance(50) { 404 } else { 410 }),
                retry_after: None,
            };
        }
        if self.honest && self.rng.chance(2) {
            self.uploads[id].gone = true; // expired
            return Input::Failed {
                error: status_error(404),
                retry_after: None,
            };
        }
        let upload = &mut self.uploads[id];
        if offset != upload.data.len() as u64 {
            return Input::Failed {
                error: status_error(409),
                retry_after: None,
            };
        }
        if self.rng.chance(self.fault_rate) {
            // Some bytes may land before the connection dies; none are acknowledged.
            let landed = self.rng.below(len + 1);
            let upload = &mut self.uploads[id];
            upload
                .data
                .extend_from_slice(&source[offset as usize..(offset + landed) as usize]);
            return self.failure();
        }
        let take = if !self.honest && self.rng.chance(self.lie_rate) {
            self.rng.below(len + 1)
        } else {
            len
        };
        let upload = &mut self.uploads[id];
        upload
            .data
            .extend_from_slice(&source[offset as usize..(offset + take) as usize]);
        if declare.is_some() && take == len {
            upload.length = declare;
        }
        let real = upload.data.len() as u64;
        upload.acknowledged = upload.acknowledged.max(real);
        if !self.honest && self.rng.chance(self.lie_rate) {
            return match self.lie(real) {
                Some(value) => answer(
                    if self.rng.chance(80) { 204 } else { 201 },
                    &[("upload-offset", value)],
                ),
                None => answer(204, &[]),
            };
        }
        answer(204, &[("upload-offset", real.to_string())])
    }

    fn head(&mut self, url: &Uri) -> Input {
        let id = Self::id(url);
        if id >= self.uploads.len() || self.uploads[id].gone {
            return Input::Failed {
                error: status_error(404),
                retry_after: None,
            };
        }
        if self.rng.chance(self.fault_rate) {
            return self.failure();
        }
        let (real, length) = (self.uploads[id].data.len() as u64, self.uploads[id].length);
        let mut pairs = vec![("upload-offset", real.to_string())];
        if let Some(length) = length {
            pairs.push(("upload-length", length.to_string()));
        }
        if !self.honest && self.rng.chance(self.lie_rate) {
            if self.rng.chance(30) {
                // Lose acknowledged bytes for real.
                let keep = self.rng.below(real + 1);
                self.uploads[id].data.truncate(keep as usize);
            }
            pairs = Vec::new();
            if let Some(value) = self.lie(real) {
                pairs.push(("upload-offset", value));
            }
            if self.rng.chance(70) {
                pairs.push((
                    "upload-length",
                    self.lie(length.unwrap_or(real)).unwrap_or_default(),
                ));
            }
            pairs.retain(|(_, v)| !v.is_empty());
        }
        answer(200, &pairs)
    }
}

fn status_error(code: u16) -> Error {
    Error::Status(StatusError::new(code, "X", "u"))
}

fn answer(status: u16, pairs: &[(&str, String)]) -> Input {
    Input::Answer {
        status,
        headers: headers(pairs),
        wall: SystemTime::UNIX_EPOCH,
    }
}

/// One schedule; returns whether it finished (done).
fn schedule(seed: u64) -> bool {
    let mut rng = Rng(seed);
    let honest = rng.chance(50);
    let chunk = 1 + rng.below(16);
    let length = rng.below(80);
    let source: Vec<u8> = (0..length).map(byte).collect();
    let stream = rng.chance(20);
    let fault_rate = if rng.chance(25) { 0 } else { rng.below(35) };
    let policy = RetryPolicy::default().max_attempts(1 + rng.below(5) as u32);
    let mut server = Server {
        rng: Rng(rng.next()),
        honest,
        fault_rate,
        lie_rate: if honest { 0 } else { 5 + rng.below(40) },
        uploads: Vec::new(),
        other_origin: rng.chance(20),
        insecure_location: !honest && rng.chance(10),
    };
    let start = if !stream && rng.chance(30) {
        // An earlier run's upload, partly there.
        let have = rng.below(length + 1);
        server.uploads.push(Upload {
            data: source[..have as usize].to_vec(),
            length: Some(length),
            gone: rng.chance(20),
            acknowledged: have,
        });
        let url = server.url(0);
        if rng.chance(50) {
            Start::Resume(url)
        } else {
            Start::Existing(url)
        }
    } else {
        Start::Create
    };
    let existing = matches!(start, Start::Existing(_));
    let mut cfg = config((!stream).then_some(length), chunk, start);
    cfg.creation_with_upload = rng.chance(50);
    cfg.restart_on_expiry = rng.chance(50);
    cfg.store = rng.chance(50);
    cfg.seed = rng.next();
    if existing {
        cfg.endpoint = None;
    }
    // Uploads made by the caller's creator (`Client::upload_with`).
    let external = !stream && !existing && rng.chance(25);
    if external {
        cfg.endpoint = None;
        cfg.external_creation = true;
        cfg.restart_on_expiry = true;
        cfg.store = false;
        cfg.trusted_origins.clear();
    }
    let mut in_use = match &cfg.start {
        Start::Resume(url) => Some(url.clone()),
        _ => None,
    };
    let trusted = cfg.trusted_origins.clone();
    let mut machine = Machine::new(cfg, policy.clone());
    let mut now = Instant::now();
    let (mut requests, mut retries, mut restarts) = (0u64, 0u32, 0u32);
    let mut source_changed = false;
    let mut read = 0u64; // stream bytes handed out
    let (mut last_patch, mut last_check, mut last_head) = (0u64, 0u64, 0u64);
    let mut last_head_complete = false;
    let mut step = 0u64;
    let uploads_before = server.uploads.len();
    let done = loop {
        step += 1;
        assert!(step < 100_000, "seed {seed}: no end");
        let action = machine.poll(now);
        if std::env::var_os("TUS_SCHEDULE_TRACE").is_some() {
            eprintln!("{action:?}");
        }
        let credentials_ok = |url: &Uri, credentials: bool| {
            assert_eq!(
                credentials,
                trusted.contains(&origin(url)),
                "seed {seed}: credentials to {url}"
            );
        };
        let input = match action {
            Action::Wait { until } => {
                assert!(until > now, "seed {seed}: a wait in the past");
                now = until;
                continue;
            }
            Action::Done(finished) => {
                assert!(!source_changed, "seed {seed}: done with a changed source");
                assert!(
                    last_check > last_patch && last_head > last_check && last_head_complete,
                    "seed {seed}: done without check + HEAD"
                );
                assert_eq!(finished.length, length, "seed {seed}");
                if honest {
                    let id = Server::id(&finished.url);
                    assert_eq!(
                        server.uploads[id].data, source,
                        "seed {seed}: stored bytes differ"
                    );
                }
                break true;
            }
            Action::Failed(_) => break false,
            Action::ProbeStore | Action::StorePut { .. } | Action::StoreRemove => Input::Ok,
            Action::CheckSource => {
                last_check = step;
                if !honest && rng.chance(3) {
                    source_changed = true;
                }
                if source_changed {
                    Input::Failed {
                        error: Error::SourceChanged {
                            expected: length,
                            found: length,
                        },
                        retry_after: None,
                    }
                } else {
                    Input::Ok
                }
            }
            Action::ReadChunk { max } => {
                let len = max.min(length - read);
                read += len;
                Input::Chunk {
                    len,
                    eof: read == length,
                }
            }
            Action::Head { url, credentials } => {
                requests += 1;
                credentials_ok(&url, credentials);
                last_head = step;
                let input = server.head(&url);
                last_head_complete = matches!(&input, Input::Answer { headers, .. }
                    if value(headers, "upload-offset") == Some(length) && value(headers, "upload-length") == Some(length));
                input
            }
            Action::Create {
                url,
                body,
                length: declared,
                credentials,
                ..
            } => {
                requests += 1;
                credentials_ok(&url, credentials);
                server.create(body, declared, &source)
            }
            Action::CreateElsewhere {
                length: declared,
                gone,
            } => {
                requests += 1;
                assert!(external, "seed {seed}: no creator");
                assert_eq!(declared, length, "seed {seed}");
                assert_eq!(
                    gone, in_use,
                    "seed {seed}: the creator was told the wrong upload"
                );
                if rng.chance(5) {
                    Input::Failed {
                        error: Error::Creator {
                            source: "refused".into(),
                        },
                        retry_after: None,
                    }
                } else {
                    let url = server.create_external(length);
                    in_use = Some(url.clone());
                    Input::Created { url }
                }
            }
            Action::Patch {
                url,
                offset,
                len,
                declare_length,
                credentials,
                ..
            } => {
                requests += 1;
                last_patch = step;
                credentials_ok(&url, credentials);
                let id = Server::id(&url);
                if honest && id < server.uploads.len() {
                    assert!(
                        offset >= server.uploads[id].acknowledged
                            || server.uploads[id].data.len() as u64 == offset,
                        "seed {seed}: re-sent acknowledged bytes at {offset}"
                    );
                }
                let input = server.patch(&url, offset, len, declare_length, &source);
                if stream {
                    now += Duration::from_millis(1);
                }
                input
            }
        };
        now += Duration::from_millis(10);
        machine.handle(now, input);
        while let Some(event) = machine.poll_event() {
            match event {
                Event::Retrying { attempt, .. } => {
                    retries += 1;
                    assert!(
                        attempt <= policy.attempts(),
                        "seed {seed}: attempt {attempt}"
                    );
                }
                Event::Restarted { .. } => restarts += 1,
                _ => {}
            }
        }
        let bound = machine.request_bound();
        assert!(
            requests <= bound,
            "seed {seed}: {requests} requests > bound {bound}"
        );
    };
    assert!(restarts <= 1, "seed {seed}");
    let created = server.uploads.len() - uploads_before;
    assert!(
        created <= 1 + restarts as usize,
        "seed {seed}: {created} uploads created"
    );
    let cap = policy.failure_cap(super::machine::chunks(length, chunk));
    assert!(retries <= cap, "seed {seed}: {retries} retries > cap {cap}");
    done
}

fn value(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

#[test]
fn the_machine_survives_honest_and_hostile_simulated_servers() {
    if let Some(seed) = std::env::var("TUS_SCHEDULE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        schedule(seed);
        return;
    }
    let count: u64 = std::env::var("TUS_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let done = (0..count).filter(|seed| schedule(*seed)).count() as u64;
    // The test can fail: a broken machine that gives up early finishes nothing.
    assert!(
        done * 4 >= count,
        "only {done} of {count} schedules finished"
    );
    eprintln!("{count} schedules, {done} finished (the rest ended in typed errors)");
}

#[test]
fn honest_servers_without_faults_always_finish() {
    let mut finished = 0;
    for seed in 0..20_000u64 {
        let mut rng = Rng(seed);
        // Mirror the draws of `schedule` to pick fault-free honest ones.
        let honest = rng.chance(50);
        let (_, _, _) = (rng.below(16), rng.below(80), rng.chance(20));
        let faultless = rng.chance(25);
        if honest && faultless {
            // Expiry (2 %) can still end an upload when the server offers no restart.
            finished += u64::from(schedule(seed));
        }
    }
    assert!(finished > 1000, "{finished}");
}
