//! Text tracks and thumbnails of a video: `POST` creates one with a storage
//! link on the upload host, the client PUTs the file there (no API
//! credentials), then `PATCH {active: true}` switches it on. Vimeo's flow.

use serde_json::{Value, json};

use super::wire::{self, Reply, reply_json};
use super::{Call, State, lock, next_id};

/// What a media item is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A text track: `type` (subtitles, captions, chapters, descriptions,
    /// metadata), `language`, `name`.
    Track {
        kind: String,
        language: String,
        name: String,
    },
    /// A thumbnail.
    Picture,
}

/// A text track or thumbnail.
#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub(crate) id: u64,
    pub(crate) video: u64,
    pub(crate) kind: Kind,
    pub(crate) active: bool,
    /// The storage slot on the upload host.
    pub(crate) link: String,
}

const TRACK_TYPES: [&str; 6] = [
    "subtitles",
    "captions",
    "chapters",
    "descriptions",
    "metadata",
    "captions_sdh",
];

fn collection(kind: &Kind) -> &'static str {
    match kind {
        Kind::Track { .. } => "texttracks",
        Kind::Picture => "pictures",
    }
}

fn media_json(media: &Media) -> Value {
    let uri = format!(
        "/videos/{}/{}/{}",
        media.video,
        collection(&media.kind),
        media.id
    );
    match &media.kind {
        Kind::Track {
            kind,
            language,
            name,
        } => json!({
            "uri": uri,
            "active": media.active,
            "type": kind,
            "language": language,
            "name": name,
            "link": media.link,
        }),
        Kind::Picture => json!({
            "uri": uri,
            "active": media.active,
            "type": "custom",
            "link": media.link,
        }),
    }
}

/// `/videos/{video}/texttracks[/{id}]` and `/videos/{video}/pictures[/{id}]`;
/// the caller checked the video is the user's.
pub(crate) fn route(
    state: &State,
    call: &Call,
    video: u64,
    rest: &[&str],
    body: Option<Value>,
) -> Result<Reply, Reply> {
    let body = body.unwrap_or(Value::Null);
    match (call.method.as_str(), rest) {
        ("POST", ["texttracks"]) => {
            let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
            let kind = text("type").unwrap_or_default();
            if !TRACK_TYPES.contains(&kind.as_str()) {
                return Err(super::videos::invalid_parameter(
                    "type",
                    "type must be subtitles, captions, chapters, descriptions, metadata or captions_sdh",
                ));
            }
            let Some(language) = text("language").filter(|l| !l.is_empty()) else {
                return Err(super::videos::invalid_parameter(
                    "language",
                    "language is required",
                ));
            };
            let name = text("name").unwrap_or_default();
            let media = create(
                state,
                video,
                Kind::Track {
                    kind,
                    language,
                    name,
                },
            );
            Ok(reply_json(201, "texttrack", &media_json(&media)))
        }
        ("POST", ["pictures"]) => {
            let media = create(state, video, Kind::Picture);
            Ok(reply_json(201, "picture", &media_json(&media)))
        }
        ("GET", [name @ ("texttracks" | "pictures")]) => {
            let items: Vec<Value> = lock(&state.media)
                .iter()
                .filter(|m| m.video == video && collection(&m.kind) == *name)
                .map(media_json)
                .collect();
            Ok(reply_json(
                200,
                name,
                &json!({"total": items.len(), "data": items}),
            ))
        }
        ("PATCH", [name @ ("texttracks" | "pictures"), id]) => {
            let id: u64 = id.parse().map_err(|_| super::videos::not_found())?;
            let active = body.get("active").and_then(Value::as_bool);
            let mut all = lock(&state.media);
            let index = all
                .iter()
                .position(|m| m.id == id && m.video == video && collection(&m.kind) == *name)
                .ok_or_else(super::videos::not_found)?;
            if active == Some(true) {
                if state.tus.asset(&all[index].link).is_none() {
                    return Err(super::videos::invalid_parameter(
                        "active",
                        "nothing was uploaded to the link yet",
                    ));
                }
                // One active thumbnail per video.
                if matches!(all[index].kind, Kind::Picture) {
                    for other in all.iter_mut().filter(|m| m.video == video) {
                        if matches!(other.kind, Kind::Picture) {
                            other.active = false;
                        }
                    }
                }
            }
            if let Some(active) = active {
                all[index].active = active;
            }
            Ok(reply_json(200, name, &media_json(&all[index])))
        }
        ("DELETE", [name @ ("texttracks" | "pictures"), id]) => {
            let id: u64 = id.parse().map_err(|_| super::videos::not_found())?;
            let mut all = lock(&state.media);
            let before = all.len();
            all.retain(|m| !(m.id == id && m.video == video && collection(&m.kind) == *name));
            if all.len() == before {
                return Err(super::videos::not_found());
            }
            Ok(wire::no_content())
        }
        _ => Err(super::videos::method_not_found()),
    }
}

fn create(state: &State, video: u64, kind: Kind) -> Media {
    let media = Media {
        id: next_id(state),
        video,
        kind,
        active: false,
        link: state.tus.asset_slot(),
    };
    lock(&state.media).push(media.clone());
    media
}
