//! `vimeo texttrack add|list|delete` and `vimeo picture set`.

use std::path::PathBuf;

use clap::Subcommand;
use cli::Failure;
use serde_json::json;
use vimeo::TextTrackOptions;

use crate::{ClientSettings, Global, client};

#[derive(Debug, Subcommand)]
pub(crate) enum TextTrackCommand {
    /// Add a text track (WebVTT or SRT) to a video and activate it.
    Add {
        /// The video id or /videos/{id} URI.
        video: String,
        /// The track file.
        file: PathBuf,
        /// The language tag, e.g. en or fr-CA.
        #[arg(long)]
        language: String,
        /// What it is.
        #[arg(long, default_value = "subtitles", value_parser = ["subtitles", "captions", "chapters", "descriptions", "metadata", "captions_sdh"])]
        kind: String,
        /// The label shown to viewers.
        #[arg(long)]
        name: Option<String>,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List a video's text tracks (one JSON object per line).
    List {
        /// The video id or /videos/{id} URI.
        video: String,
    },
    /// Delete a text track.
    Delete {
        /// The track's URI, /videos/{id}/texttracks/{track}.
        uri: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PictureCommand {
    /// Set a video's thumbnail from an image file.
    Set {
        /// The video id or /videos/{id} URI.
        video: String,
        /// The image (JPEG, PNG, GIF, WebP).
        file: PathBuf,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn settings() -> ClientSettings<'static> {
    ClientSettings {
        need_token: true,
        ..ClientSettings::default()
    }
}

pub(crate) async fn text_track(global: &Global, command: TextTrackCommand) -> Result<(), Failure> {
    let client = client(global, settings())?;
    match command {
        TextTrackCommand::Add {
            video,
            file,
            language,
            kind,
            name,
            json,
        } => {
            let mut options = TextTrackOptions::new(language).kind(kind);
            if let Some(name) = name {
                options = options.name(name);
            }
            let track = client.add_text_track(&video, &file, &options).await?;
            if json {
                println!("{}", serde_json::to_string(&track).unwrap_or_default());
            } else {
                println!("{}", track.uri.unwrap_or_default());
            }
        }
        TextTrackCommand::List { video } => {
            for track in client.text_tracks(&video).await? {
                println!("{}", serde_json::to_string(&track).unwrap_or_default());
            }
        }
        TextTrackCommand::Delete { uri } => {
            client.delete_text_track(&uri).await?;
            eprintln!("deleted");
        }
    }
    Ok(())
}

pub(crate) async fn picture(global: &Global, command: PictureCommand) -> Result<(), Failure> {
    let PictureCommand::Set { video, file, json } = command;
    let picture = client(global, settings())?
        .set_picture(&video, &file)
        .await?;
    if json {
        println!("{}", json!({"uri": picture.uri, "active": picture.active}));
    } else {
        println!("{}", picture.uri.unwrap_or_default());
    }
    Ok(())
}
