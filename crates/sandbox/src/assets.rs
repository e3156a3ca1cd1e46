//! Plain `PUT` storage on the upload host for files that are not videos:
//! text tracks and thumbnails. The API hands out a slot URL (a random id is
//! the only credential, as with Vimeo's storage links); the client PUTs the
//! file there without any API credentials.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};

/// Largest asset accepted (a thumbnail or caption file is far smaller).
const MAX_ASSET: usize = 64 << 20;

/// The slots and what was put in them.
#[derive(Debug, Default)]
pub(crate) struct Assets {
    slots: Mutex<HashMap<String, Option<Bytes>>>,
}

impl Assets {
    /// A new empty slot's id.
    pub(crate) fn slot(&self) -> String {
        let mut random = [0u8; 16];
        let _ = getrandom::fill(&mut random);
        let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
        self.lock().insert(id.clone(), None);
        id
    }

    /// What was put in slot `id`, if anything.
    pub(crate) fn get(&self, id: &str) -> Option<Bytes> {
        self.lock().get(id).cloned().flatten()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Bytes>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `PUT /assets/{id}` stores the body; `GET` returns it.
    pub(crate) async fn handle<B>(
        &self,
        method: &Method,
        id: &str,
        body: B,
    ) -> Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let answer = |status: u16, body: Bytes| {
            let mut response = Response::new(Full::new(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
        };
        if !self.lock().contains_key(id) {
            return answer(404, Bytes::from_static(b"no such slot"));
        }
        match *method {
            Method::PUT => match Limited::new(body, MAX_ASSET).collect().await {
                Ok(collected) => {
                    self.lock()
                        .insert(id.to_owned(), Some(collected.to_bytes()));
                    answer(200, Bytes::new())
                }
                Err(_) => answer(413, Bytes::from_static(b"too large or cut")),
            },
            Method::GET => match self.get(id) {
                Some(bytes) => answer(200, bytes),
                None => answer(404, Bytes::from_static(b"nothing uploaded yet")),
            },
            _ => answer(405, Bytes::new()),
        }
    }
}
