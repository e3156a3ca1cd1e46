//! `/me`, `/me/videos`, `/videos/{id}` and `/videos/{id}/versions`: the
//! resources of API v3, with bearer authentication, scopes, paging and
//! `fields` filtering. Upload and transcode status follow the tus server:
//! complete when every byte arrived, transcoded `transcode_delay` later.

use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

use super::wire::{self, Reply, api_error, api_error_with, param, reply_json};
use super::{Call, Grant, OTHER_USER_ID, State, USER_ID, Video, lock, next_id};

/// The id of the seeded video that belongs to another user.
pub(crate) const FOREIGN_VIDEO_ID: u64 = 99_999;

pub(crate) async fn seed_foreign_video(state: &State) -> std::io::Result<()> {
    let upload_link = state.tus.create_upload(0).await?;
    lock(&state.videos).insert(
        FOREIGN_VIDEO_ID,
        Video {
            id: FOREIGN_VIDEO_ID,
            owner: OTHER_USER_ID,
            name: "Someone else's video".into(),
            description: None,
            privacy_view: "anybody".into(),
            created: SystemTime::now(),
            upload_link,
            size: 0,
            completed_at: Some(Instant::now()),
            versions: Vec::new(),
            approach: "tus",
            pull_failed: false,
        },
    );
    Ok(())
}

pub(crate) fn user_json(id: u64) -> Value {
    let name = if id == USER_ID {
        "Sandbox User"
    } else {
        "Another User"
    };
    json!({
        "uri": format!("/users/{id}"),
        "name": name,
        "link": format!("https://vimeo.example/user{id}"),
        "account": "pro",
    })
}

pub(crate) fn used_space(state: &State) -> u64 {
    lock(&state.videos)
        .values()
        .filter(|v| v.owner == USER_ID)
        .map(|v| v.size)
        .sum()
}

/// The grant of the request's bearer token, or the 401 to answer.
fn authenticate(state: &State, call: &Call) -> Result<Grant, Reply> {
    let Some(token) = wire::bearer(&call.headers) else {
        return Err(api_error(
            401,
            8003,
            "You must provide a valid authenticated access token.",
            "No bearer token was supplied.",
        ));
    };
    match lock(&state.tokens).get(&token) {
        Some(grant) => Ok(grant.clone()),
        None => Err(api_error(
            401,
            8000,
            "Invalid access token.",
            "The bearer token is unknown or revoked.",
        )),
    }
}

fn user_of(grant: &Grant) -> Result<u64, Reply> {
    grant.user.ok_or_else(|| {
        api_error(
            401,
            8002,
            "There is no user associated with this access token.",
            "Client-credentials tokens act for the app only; use a user's token.",
        )
    })
}

fn require_scope(grant: &Grant, scope: &str) -> Result<(), Reply> {
    if grant.scope.split(' ').any(|s| s == scope) {
        Ok(())
    } else {
        Err(api_error(
            403,
            3200,
            "Your access token does not have the required scope.",
            &format!("This action needs the `{scope}` scope."),
        ))
    }
}

pub(super) fn not_found() -> Reply {
    api_error(
        404,
        5000,
        "The requested video couldn't be found.",
        "No such resource.",
    )
}

pub(crate) async fn route(state: &State, call: &Call) -> Reply {
    match handle(state, call).await {
        Ok(reply) | Err(reply) => reply,
    }
}

async fn handle(state: &State, call: &Call) -> Result<Reply, Reply> {
    let grant = authenticate(state, call)?;
    let fields = param(&call.query_params(), "fields").map(str::to_owned);
    let filtered = |value: Value| match &fields {
        Some(fields) => wire::filter_fields(&value, fields),
        None => value,
    };
    let segments: Vec<&str> = call.path.trim_matches('/').split('/').collect();
    match (call.method.as_str(), segments.as_slice()) {
        ("GET", ["me"]) => {
            let user = user_of(&grant)?;
            let mut body = user_json(user);
            let used = used_space(state);
            let max = state.config.upload_space;
            if let Some(object) = body.as_object_mut() {
                object.insert(
                    "upload_quota".into(),
                    json!({
                        "space": {"free": max.saturating_sub(used), "max": max, "used": used},
                        "periodic": {"free": null, "max": null, "used": null, "reset_date": null},
                        "lifetime": {"free": null, "max": null, "used": null},
                    }),
                );
            }
            Ok(reply_json(200, "user", &filtered(body)))
        }
        ("GET", ["me", "videos"]) => {
            let user = user_of(&grant)?;
            list_videos(state, call, user, fields.as_deref())
        }
        ("POST", ["me", "videos"]) => {
            let user = user_of(&grant)?;
            require_scope(&grant, "upload")?;
            let video = create_video(state, call, user).await?;
            Ok(reply_json(200, "video", &filtered(video)))
        }
        (method, ["videos", id, rest @ ..]) => {
            let id: u64 = id.parse().map_err(|_| not_found())?;
            match (method, rest) {
                ("GET", []) => {
                    let mut videos = lock(&state.videos);
                    let video = videos.get_mut(&id).ok_or_else(not_found)?;
                    Ok(reply_json(
                        200,
                        "video",
                        &filtered(video_json(state, video)),
                    ))
                }
                ("PATCH", []) => {
                    let user = user_of(&grant)?;
                    require_scope(&grant, "edit")?;
                    let body = json_body(call)?;
                    let mut videos = lock(&state.videos);
                    let video = owned(videos.get_mut(&id), user)?;
                    if let Some(name) = body.get("name").and_then(Value::as_str) {
                        video.name = name.to_owned();
                    }
                    if let Some(description) = body.get("description").and_then(Value::as_str) {
                        video.description = Some(description.to_owned());
                    }
                    if let Some(view) = body.pointer("/privacy/view").and_then(Value::as_str) {
                        video.privacy_view = view.to_owned();
                    }
                    Ok(reply_json(
                        200,
                        "video",
                        &filtered(video_json(state, video)),
                    ))
                }
                ("DELETE", []) => {
                    let user = user_of(&grant)?;
                    require_scope(&grant, "delete")?;
                    let mut videos = lock(&state.videos);
                    owned(videos.get_mut(&id), user)?;
                    videos.remove(&id);
                    Ok(wire::no_content())
                }
                (_, [collection @ ("texttracks" | "pictures"), ..]) => {
                    let user = user_of(&grant)?;
                    if method != "GET" {
                        require_scope(&grant, "edit")?;
                    }
                    {
                        let mut videos = lock(&state.videos);
                        owned(videos.get_mut(&id), user)?;
                    }
                    let body = match method {
                        "POST" | "PATCH" if *collection == "texttracks" || method == "PATCH" => {
                            Some(json_body(call)?)
                        }
                        _ => None,
                    };
                    super::media::route(state, call, id, rest, body)
                }
                ("POST", ["versions"]) => {
                    let user = user_of(&grant)?;
                    require_scope(&grant, "upload")?;
                    let version = create_version(state, call, id, user).await?;
                    Ok(reply_json(201, "video-version", &filtered(version)))
                }
                _ => Err(method_not_found()),
            }
        }
        _ => Err(method_not_found()),
    }
}

pub(super) fn method_not_found() -> Reply {
    api_error(
        404,
        5000,
        "The requested page couldn't be found.",
        "No such endpoint in the sandbox.",
    )
}

fn owned(video: Option<&mut Video>, user: u64) -> Result<&mut Video, Reply> {
    let video = video.ok_or_else(not_found)?;
    if video.owner != user {
        return Err(api_error(
            403,
            3427,
            "You can't edit this video.",
            "The authenticated user does not own this video.",
        ));
    }
    Ok(video)
}

fn json_body(call: &Call) -> Result<Value, Reply> {
    let bad = || {
        api_error(
            400,
            2205,
            "The request body wasn't formatted properly.",
            "Send a JSON object with Content-Type: application/json.",
        )
    };
    if !call.is_json() {
        return Err(bad());
    }
    match serde_json::from_slice::<Value>(&call.body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(bad()),
    }
}

pub(super) fn invalid_parameter(field: &str, message: &str) -> Reply {
    api_error_with(
        400,
        2204,
        "The parameters passed to this API endpoint didn't pass Vimeo's validation checks.",
        "Invalid body parameters; see invalid_parameters.",
        Some(json!([{
            "field": field,
            "error_code": 2204,
            "error": message,
            "developer_message": message,
        }])),
    )
}

/// `upload.approach` (must be tus) and `upload.size` (number or numeric string).
fn tus_upload_size(body: &Value) -> Result<u64, Reply> {
    if body.get("type").is_some() && body.pointer("/upload/approach").is_none() {
        return Err(api_error(
            400,
            3116,
            "Use upload.approach instead of type.",
            "The `type` field is the pre-3.4 way; send upload.approach.",
        ));
    }
    match body.pointer("/upload/approach").and_then(Value::as_str) {
        Some("tus" | "pull") => {}
        _ => {
            return Err(api_error(
                400,
                2230,
                "Invalid upload approach.",
                "The sandbox supports upload.approach = tus and pull.",
            ));
        }
    }
    let size = match body.pointer("/upload/size") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    size.ok_or_else(|| {
        invalid_parameter("upload.size", "upload.size must be a whole number of bytes")
    })
}

fn check_space(state: &State, size: u64) -> Result<(), Reply> {
    let free = state.config.upload_space.saturating_sub(used_space(state));
    if size > free {
        return Err(api_error(
            403,
            4101,
            "You have reached your maximum disk space.",
            &format!("The upload needs {size} bytes; {free} are free."),
        ));
    }
    Ok(())
}

fn upload_error() -> Reply {
    api_error(
        500,
        4003,
        "There was a problem initiating the upload.",
        "The upload host could not create the upload.",
    )
}

/// The largest file the sandbox pulls.
const PULL_LIMIT: u64 = 1 << 30;

/// `upload.link` of a pull: http(s) on this machine only (the sandbox never
/// reaches out to the network).
fn pull_link(body: &Value) -> Result<String, Reply> {
    let link = body
        .pointer("/upload/link")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_parameter("upload.link", "upload.link is required for pull"))?;
    let uri: http::Uri = link
        .parse()
        .map_err(|_| invalid_parameter("upload.link", "upload.link is not a URL"))?;
    let loopback = uri.scheme_str() == Some("http")
        && uri.host().is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    if !loopback {
        return Err(invalid_parameter(
            "upload.link",
            "the sandbox only pulls from http:// URLs on loopback",
        ));
    }
    Ok(link.to_owned())
}

/// Fetches a pull's file into a complete upload; `None` when it failed.
async fn pull(state: &State, link: &str) -> Option<(String, u64)> {
    let fetched = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        crate::browser::fetch(link, PULL_LIMIT),
    )
    .await;
    match fetched {
        Ok(Ok((200, data))) if data.len() as u64 <= PULL_LIMIT => {
            let url = state.tus.create_complete(&data).await.ok()?;
            Some((url, data.len() as u64))
        }
        _ => None,
    }
}

async fn create_video(state: &State, call: &Call, user: u64) -> Result<Value, Reply> {
    let body = json_body(call)?;
    let approach = if body.pointer("/upload/approach").and_then(Value::as_str) == Some("pull") {
        "pull"
    } else {
        "tus"
    };
    let (upload_link, size, pull_failed) = if approach == "pull" {
        let link = pull_link(&body)?;
        // Vimeo fetches in the background; the sandbox fetches before it answers.
        match pull(state, &link).await {
            Some((url, size)) => (url, size, false),
            None => (String::new(), 0, true),
        }
    } else {
        let size = tus_upload_size(&body)?;
        check_space(state, size)?;
        let link = state
            .tus
            .create_upload(size)
            .await
            .map_err(|_| upload_error())?;
        (link, size, false)
    };
    let id = next_id(state);
    let mut video = Video {
        id,
        owner: user,
        name: body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Untitled")
            .to_owned(),
        description: body
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        privacy_view: body
            .pointer("/privacy/view")
            .and_then(Value::as_str)
            .unwrap_or("anybody")
            .to_owned(),
        created: SystemTime::now(),
        upload_link,
        size,
        completed_at: None,
        versions: Vec::new(),
        approach,
        pull_failed,
    };
    let json = video_json(state, &mut video);
    lock(&state.videos).insert(id, video);
    Ok(json)
}

async fn create_version(state: &State, call: &Call, id: u64, user: u64) -> Result<Value, Reply> {
    let body = json_body(call)?;
    {
        let mut videos = lock(&state.videos);
        owned(videos.get_mut(&id), user)?;
    }
    let Some(file_name) = body.get("file_name").and_then(Value::as_str) else {
        return Err(invalid_parameter("file_name", "file_name is required"));
    };
    let size = tus_upload_size(&body)?;
    if body.pointer("/upload/approach").and_then(Value::as_str) != Some("tus") {
        return Err(invalid_parameter(
            "upload.approach",
            "the sandbox takes new versions with upload.approach = tus",
        ));
    }
    check_space(state, size)?;
    let upload_link = state
        .tus
        .create_upload(size)
        .await
        .map_err(|_| upload_error())?;
    let version_id = next_id(state);
    let mut videos = lock(&state.videos);
    let video = owned(videos.get_mut(&id), user)?;
    video.upload_link = upload_link.clone();
    video.size = size;
    video.completed_at = None;
    video.versions.push(version_id);
    Ok(json!({
        "uri": format!("/videos/{id}/versions/{version_id}"),
        "filename": file_name,
        "filesize": size,
        "active": false,
        "upload": {
            "approach": "tus",
            "upload_link": upload_link,
            "size": size,
            "status": "in_progress",
        },
    }))
}

fn list_videos(
    state: &State,
    call: &Call,
    user: u64,
    fields: Option<&str>,
) -> Result<Reply, Reply> {
    let params = call.query_params();
    let number = |name: &str, default: u64| -> Result<u64, Reply> {
        match param(&params, name) {
            None => Ok(default),
            Some(text) => match text.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(invalid_parameter(
                    name,
                    &format!("{name} must be a positive integer"),
                )),
            },
        }
    };
    let page = number("page", 1)?;
    let per_page = number("per_page", 25)?;
    if per_page > 100 {
        return Err(invalid_parameter("per_page", "per_page is at most 100"));
    }
    let mut videos = lock(&state.videos);
    let mut mine: Vec<&mut Video> = videos.values_mut().filter(|v| v.owner == user).collect();
    // Newest first, as Vimeo lists by default.
    mine.reverse();
    let total = mine.len() as u64;
    let last = total.div_ceil(per_page).max(1);
    let start = ((page - 1) * per_page).min(total) as usize;
    let end = (page * per_page).min(total) as usize;
    let data: Vec<Value> = mine[start..end]
        .iter_mut()
        .map(|video| {
            let json = video_json(state, video);
            match fields {
                Some(fields) => wire::filter_fields(&json, fields),
                None => json,
            }
        })
        .collect();
    let link = |n: u64| {
        let mut link = format!("/me/videos?page={n}&per_page={per_page}");
        if let Some(fields) = fields {
            link.push_str("&fields=");
            link.push_str(&oauth1::percent_encode(fields));
        }
        Value::String(link)
    };
    let body = json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "paging": {
            "next": if page < last { link(page + 1) } else { Value::Null },
            "previous": if page > 1 { link(page - 1) } else { Value::Null },
            "first": link(1),
            "last": link(last),
        },
        "data": data,
    });
    Ok(reply_json(200, "video", &body))
}

/// The video as the API shows it; notes the moment its upload completed.
pub(crate) fn video_json(state: &State, video: &mut Video) -> Value {
    let complete = !video.pull_failed
        && state
            .tus
            .upload_state(&video.upload_link)
            .is_some_and(|(offset, length)| offset == length);
    if complete && video.completed_at.is_none() {
        video.completed_at = Some(Instant::now());
    }
    let transcoded = video
        .completed_at
        .is_some_and(|at| at.elapsed() >= state.config.transcode_delay);
    let (status, upload_status, transcode_status) = match (complete, transcoded) {
        _ if video.pull_failed => ("uploading_error", "error", "in_progress"),
        (false, _) => ("uploading", "in_progress", "in_progress"),
        (true, false) => ("transcoding", "complete", "in_progress"),
        (true, true) => ("available", "complete", "complete"),
    };
    json!({
        "uri": format!("/videos/{}", video.id),
        "link": format!("https://vimeo.example/{}", video.id),
        "name": video.name,
        "description": video.description,
        "status": status,
        "created_time": wire::iso8601(video.created),
        "privacy": {"view": video.privacy_view},
        "upload": {
            "approach": video.approach,
            "upload_link": (video.approach == "tus").then_some(&video.upload_link),
            "size": video.size,
            "status": upload_status,
        },
        "transcode": {"status": transcode_status},
        "user": user_json(video.owner),
    })
}
