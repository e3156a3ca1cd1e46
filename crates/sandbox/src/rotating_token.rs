//! A bearer token that rotates: the tus server's "token-protected" mode, for
//! testing clients that refresh credentials mid-upload. After `every`
//! accepted requests the token is replaced; the old one then gets 401.

use std::sync::Mutex;

/// The current token and how many requests it has served.
#[derive(Debug)]
pub(crate) struct RotatingToken {
    every: u64,
    state: Mutex<(String, u64, u64)>,
}

fn fresh() -> String {
    let mut random = [0u8; 12];
    let _ = getrandom::fill(&mut random);
    random.iter().map(|b| format!("{b:02x}")).collect()
}

impl RotatingToken {
    pub(crate) fn new(every: u64) -> Self {
        RotatingToken {
            every: every.max(1),
            state: Mutex::new((fresh(), 0, 0)),
        }
    }

    /// The token a client must send now.
    pub(crate) fn current(&self) -> String {
        self.lock().0.clone()
    }

    /// How many times the token has been replaced.
    pub(crate) fn rotations(&self) -> u64 {
        self.lock().2
    }

    /// Whether `authorization` carries the current token; an accepted request
    /// counts towards the next rotation.
    pub(crate) fn accepts(&self, authorization: Option<&str>) -> bool {
        let mut state = self.lock();
        let expected = format!("Bearer {}", state.0);
        if authorization != Some(expected.as_str()) {
            return false;
        }
        state.1 += 1;
        if state.1 >= self.every {
            *state = (fresh(), 0, state.2 + 1);
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (String, u64, u64)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
