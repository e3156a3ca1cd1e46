//! `cargo xtask demo`: the main job, end to end, offline.

use crate::run::{cargo, run_status};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`demo` takes no arguments (got `{extra}`)"));
    }
    println!(
        "The upload demo (sandbox + resumable upload) arrives with the tus, sandbox and vimeo crates.\n\
         Until then the demo walks through OAuth 1.0a (RFC 5849 §1.2) with the oauth1 crate.\n"
    );
    if run_status(cargo().args([
        "run",
        "--quiet",
        "-p",
        "vimeo-oauth1",
        "--example",
        "rfc5849_walkthrough",
    ]))? {
        Ok(())
    } else {
        Err("the demo failed".into())
    }
}
