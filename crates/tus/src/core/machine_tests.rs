//! Table-driven tests of the upload state machine on plain values with a
//! virtual clock: each (state, answer) → the next action.

use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderValue, Uri};

use crate::core::machine::{Action, Config, Input, Machine, Start};
use crate::core::retry::RetryPolicy;
use crate::error::{Error, ProtocolError, StatusError};
use crate::progress::Event;

const ENDPOINT: &str = "https://tus.test/files/";

pub(super) fn config(length: Option<u64>, chunk: u64, start: Start) -> Config {
    let endpoint: Uri = ENDPOINT.parse().unwrap();
    Config {
        length,
        chunk_size: chunk,
        endpoint: Some(endpoint),
        start,
        creation_with_upload: false,
        checksum: None,
        restart_on_expiry: false,
        max_size: None,
        store: false,
        remove_on_success: true,
        trusted_origins: vec!["https://tus.test:443".into()],
        concat_final: false,
        external_creation: false,
        seed: 7,
    }
}

pub(super) fn headers(pairs: &[(&str, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn answer(status: u16, pairs: &[(&str, String)]) -> Input {
    Input::Answer {
        status,
        headers: headers(pairs),
        wall: SystemTime::UNIX_EPOCH,
    }
}

fn offset(o: u64) -> Input {
    answer(204, &[("upload-offset", o.to_string())])
}

fn head(o: u64, length: u64) -> Input {
    answer(
        200,
        &[
            ("upload-offset", o.to_string()),
            ("upload-length", length.to_string()),
        ],
    )
}

fn status(code: u16) -> Input {
    Input::Failed {
        error: Error::Status(StatusError::new(code, "PATCH", "u")),
        retry_after: None,
    }
}

fn timeout() -> Input {
    Input::Failed {
        error: Error::Timeout {
            method: "PATCH".into(),
            url: "u".into(),
            after: Duration::from_secs(1),
        },
        retry_after: None,
    }
}

fn created(location: &str) -> Input {
    answer(201, &[("location", location.to_owned())])
}

/// A machine with a virtual clock; `next` skips waits and source checks.
struct Run {
    machine: Machine,
    now: Instant,
    waited: Duration,
}

impl Run {
    fn new(config: Config, policy: RetryPolicy) -> Run {
        Run {
            machine: Machine::new(config, policy),
            now: Instant::now(),
            waited: Duration::ZERO,
        }
    }

    fn next(&mut self) -> Action {
        loop {
            match self.machine.poll(self.now) {
                Action::Wait { until } => {
                    self.waited += until - self.now;
                    self.now = until;
                }
                Action::CheckSource => self.machine.handle(self.now, Input::Ok),
                other => return other,
            }
        }
    }

    fn feed(&mut self, input: Input) {
        self.machine.handle(self.now, input);
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.machine.poll_event()).collect()
    }
}

fn created_run(length: u64, chunk: u64, policy: RetryPolicy) -> Run {
    let mut run = Run::new(config(Some(length), chunk, Start::Create), policy);
    assert!(matches!(run.next(), Action::Create { body: 0, .. }));
    run.feed(created("/files/1"));
    run
}

fn is_patch(action: &Action, at: u64, len: u64) -> bool {
    matches!(action, Action::Patch { offset, len: l, .. } if *offset == at && *l == len)
}

#[test]
fn a_server_that_forgets_acknowledged_bytes_cannot_keep_the_upload_going() {
    // Chunk 1 accepted, chunk 2 fails, then every HEAD says 0: the old client
    // reset its counter on any acknowledged byte and ran for minutes.
    let mut run = created_run(200, 100, RetryPolicy::default().max_attempts(2));
    let mut requests = 0;
    loop {
        requests += 1;
        match run.next() {
            Action::Patch { offset: 0, .. } => run.feed(offset(100)),
            Action::Patch { .. } => run.feed(status(500)),
            Action::Head { .. } => run.feed(head(0, 200)),
            Action::Failed(error) => {
                assert!(matches!(error, Error::RetriesExhausted { .. }), "{error:?}");
                break;
            }
            other => panic!("{other:?}"),
        }
        assert!(requests < 50, "did not end");
    }
    assert!(requests <= 12, "{requests} requests");
}

#[test]
fn a_409_waits_a_backoff_then_resyncs_with_head() {
    let mut run = created_run(100, 100, RetryPolicy::default());
    assert!(is_patch(&run.next(), 0, 100));
    run.feed(status(409));
    let before = run.waited;
    assert!(matches!(run.next(), Action::Head { .. }));
    assert!(run.waited > before, "a 409 is retried after a backoff");
    run.feed(head(40, 100));
    assert!(is_patch(&run.next(), 40, 60));
}

#[test]
fn a_creation_that_may_have_reached_the_server_is_not_repeated() {
    for (input, repeated) in [
        (timeout(), false),
        (status(500), false),
        (status(503), true),
        (status(429), true),
        (
            Input::Failed {
                error: Error::Transport {
                    method: "POST".into(),
                    url: "u".into(),
                    connect: true,
                    source: "refused".into(),
                },
                retry_after: None,
            },
            true,
        ),
    ] {
        let mut run = Run::new(config(Some(10), 10, Start::Create), RetryPolicy::default());
        assert!(matches!(run.next(), Action::Create { .. }));
        run.feed(input);
        match run.next() {
            Action::Create { .. } => assert!(repeated),
            Action::Failed(Error::CreationUncertain { .. }) => assert!(!repeated),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn caller_headers_only_go_to_trusted_origins_and_https_never_downgrades() {
    let mut run = Run::new(config(Some(10), 10, Start::Create), RetryPolicy::default());
    assert!(matches!(
        run.next(),
        Action::Create {
            credentials: true,
            ..
        }
    ));
    run.feed(created("https://storage.other.test/u/1"));
    assert!(matches!(
        run.next(),
        Action::Patch {
            credentials: false,
            ..
        }
    ));

    let mut run = Run::new(config(Some(10), 10, Start::Create), RetryPolicy::default());
    run.next();
    run.feed(created("http://tus.test/files/1"));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::Protocol {
            error: ProtocolError::InsecureLocation,
            ..
        })
    ));
}

#[test]
fn verified_only_after_a_source_check_and_a_head_with_offset_and_length() {
    let mut run = created_run(10, 10, RetryPolicy::default());
    assert!(is_patch(&run.next(), 0, 10));
    run.feed(offset(10));
    // The source is checked after the last PATCH...
    assert!(matches!(run.machine.poll(run.now), Action::CheckSource));
    run.machine.handle(
        run.now,
        Input::Failed {
            error: Error::SourceChanged {
                expected: 10,
                found: 10,
            },
            retry_after: None,
        },
    );
    assert!(matches!(
        run.next(),
        Action::Failed(Error::SourceChanged { .. })
    ));

    // ...and a HEAD without Upload-Length proves nothing.
    let mut run = created_run(10, 10, RetryPolicy::default().max_attempts(1));
    run.next();
    run.feed(offset(10));
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(answer(200, &[("upload-offset", "10".into())]));
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(answer(200, &[("upload-offset", "10".into())]));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::RetriesExhausted { .. })
    ));

    let mut run = created_run(10, 10, RetryPolicy::default());
    run.next();
    run.feed(offset(10));
    run.next();
    run.feed(head(10, 10));
    assert!(matches!(run.next(), Action::Done(f) if f.length == 10));
}

#[test]
fn offsets_beyond_what_was_sent_are_protocol_errors() {
    let mut run = created_run(100, 10, RetryPolicy::default());
    assert!(is_patch(&run.next(), 0, 10));
    run.feed(offset(11));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::Protocol {
            error: ProtocolError::OffsetTooLarge { .. },
            ..
        })
    ));
    let mut run = created_run(100, 10, RetryPolicy::default());
    run.next();
    run.feed(timeout());
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(head(50, 100));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::Protocol {
            error: ProtocolError::OffsetTooLarge {
                offset: 50,
                limit: 10
            },
            ..
        })
    ));
}

#[test]
fn a_resumed_upload_takes_bytes_an_earlier_run_lands_after_the_resume_head() {
    // The earlier run's last PATCH was still arriving: the resume HEAD says
    // 0, our PATCH meets its lock (423), the next HEAD says 15 — bytes this
    // run never sent, but the earlier run did. Continue from 15.
    let stored = Start::Resume("https://tus.test/files/old".parse().unwrap());
    let mut run = Run::new(config(Some(100), 10, stored), RetryPolicy::default());
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(head(0, 100));
    assert!(is_patch(&run.next(), 0, 10));
    run.feed(status(423));
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(head(15, 100));
    assert!(is_patch(&run.next(), 15, 10));
    // Never beyond the upload's length.
    run.feed(status(423));
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(head(101, 100));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::Protocol {
            error: ProtocolError::OffsetTooLarge { .. },
            ..
        })
    ));
}

#[test]
fn a_head_going_backwards_is_followed_from_where_the_server_is() {
    let mut run = created_run(30, 10, RetryPolicy::default());
    run.next();
    run.feed(offset(10));
    assert!(is_patch(&run.next(), 10, 10));
    run.feed(status(503));
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(head(5, 30));
    assert!(is_patch(&run.next(), 5, 10));
}

#[test]
fn a_stream_cannot_go_back_before_its_buffered_chunk() {
    let mut run = Run::new(config(None, 10, Start::Create), RetryPolicy::default());
    assert!(matches!(run.next(), Action::Create { deferred: true, .. }));
    run.feed(created("/files/1"));
    assert!(matches!(run.next(), Action::ReadChunk { max: 10 }));
    run.feed(Input::Chunk {
        len: 10,
        eof: false,
    });
    assert!(matches!(
        run.next(),
        Action::Patch {
            declare_length: None,
            ..
        }
    ));
    run.feed(offset(10));
    assert!(matches!(run.next(), Action::ReadChunk { .. }));
    run.feed(Input::Chunk { len: 4, eof: true });
    assert!(matches!(
        run.next(),
        Action::Patch {
            offset: 10,
            len: 4,
            declare_length: Some(14),
            ..
        }
    ));
    run.feed(timeout());
    run.next();
    run.feed(answer(200, &[("upload-offset", "3".into())]));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::Protocol {
            error: ProtocolError::OffsetBackwards {
                before: 10,
                after: 3
            },
            ..
        })
    ));
}

#[test]
fn an_expired_upload_starts_over_once_when_the_server_offers_expiration() {
    let mut cfg = config(Some(20), 10, Start::Create);
    cfg.restart_on_expiry = true;
    let mut run = Run::new(cfg, RetryPolicy::default());
    run.next();
    run.feed(created("/files/1"));
    run.next();
    run.feed(status(410));
    assert!(matches!(run.next(), Action::Create { .. }));
    assert!(
        run.events()
            .iter()
            .any(|e| matches!(e, Event::Restarted { .. }))
    );
    run.feed(created("/files/2"));
    run.next();
    run.feed(status(404));
    assert!(matches!(run.next(), Action::Failed(Error::Status(s)) if s.status == 404));
}

#[test]
fn an_external_creator_replaces_a_stale_upload_and_an_expired_one_once() {
    let old: Uri = "https://upload.test/files/old".parse().unwrap();
    let mut cfg = config(Some(20), 10, Start::Resume(old.clone()));
    cfg.endpoint = None;
    cfg.external_creation = true;
    cfg.restart_on_expiry = true;
    cfg.trusted_origins.clear();
    let mut run = Run::new(cfg, RetryPolicy::default());
    // The stored upload has the wrong length: it is replaced, and the creator
    // is told which one is gone; no caller headers go to the upload host.
    assert!(matches!(
        run.next(),
        Action::Head {
            credentials: false,
            ..
        }
    ));
    run.feed(head(0, 99));
    assert!(matches!(run.next(), Action::StoreRemove));
    run.feed(Input::Ok);
    assert!(matches!(
        run.next(),
        Action::CreateElsewhere { length: 20, gone: Some(ref g) } if *g == old
    ));
    let first: Uri = "https://upload.test/files/1".parse().unwrap();
    run.feed(Input::Created { url: first.clone() });
    let patch = run.next();
    assert!(is_patch(&patch, 0, 10), "{patch:?}");
    assert!(matches!(patch, Action::Patch { ref url, credentials: false, .. } if *url == first));
    run.feed(offset(10));
    assert!(is_patch(&run.next(), 10, 10));
    // Gone mid-way: one new upload from the creator, from byte 0.
    run.feed(status(404));
    assert!(matches!(
        run.next(),
        Action::CreateElsewhere { length: 20, gone: Some(ref g) } if *g == first
    ));
    run.feed(Input::Created {
        url: "https://upload.test/files/2".parse().unwrap(),
    });
    assert!(is_patch(&run.next(), 0, 10));
    run.feed(status(410));
    assert!(matches!(run.next(), Action::Failed(Error::Status(s)) if s.status == 410));
}

#[test]
fn a_creator_error_ends_the_upload_without_a_retry() {
    let mut cfg = config(Some(20), 10, Start::Create);
    cfg.endpoint = None;
    cfg.external_creation = true;
    let mut run = Run::new(cfg, RetryPolicy::default());
    assert!(matches!(
        run.next(),
        Action::CreateElsewhere {
            length: 20,
            gone: None
        }
    ));
    run.feed(Input::Failed {
        error: Error::Creator {
            source: "quota exceeded".into(),
        },
        retry_after: None,
    });
    assert!(matches!(run.next(), Action::Failed(Error::Creator { .. })));
}

#[test]
fn a_stored_url_that_is_gone_is_forgotten_and_the_store_is_probed_before_creating() {
    let mut cfg = config(
        Some(20),
        10,
        Start::Resume("https://tus.test/files/old".parse().unwrap()),
    );
    cfg.store = true;
    let mut run = Run::new(cfg, RetryPolicy::default());
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(status(404));
    assert!(matches!(run.next(), Action::StoreRemove));
    run.feed(Input::Ok);
    assert!(matches!(run.next(), Action::ProbeStore));
    run.feed(Input::Failed {
        error: Error::Store("read-only".into()),
        retry_after: None,
    });
    assert!(matches!(run.next(), Action::Failed(Error::Store(_))));
}

#[test]
fn too_large_uploads_and_untaken_bytes_are_errors() {
    let mut cfg = config(Some(20), 10, Start::Create);
    cfg.max_size = Some(19);
    let mut run = Run::new(cfg, RetryPolicy::default());
    assert!(matches!(run.next(), Action::Failed(Error::TooLarge { .. })));
    // A 204 that takes nothing counts as a failure, so it cannot loop forever.
    let mut run = created_run(20, 10, RetryPolicy::default().max_attempts(1));
    run.next();
    run.feed(offset(0));
    assert!(matches!(run.next(), Action::Head { .. }));
    run.feed(head(0, 20));
    run.next();
    run.feed(offset(0));
    assert!(matches!(
        run.next(),
        Action::Failed(Error::RetriesExhausted { .. })
    ));
}
