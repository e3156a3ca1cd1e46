//! `cargo xtask demo`: the main job, end to end, offline: `vimeo demo` starts
//! the sandbox, uploads a generated 256 MiB video through the facade, has it
//! interrupted and resumed, verifies it byte for byte and waits for transcoding.

use crate::run::{cargo, run_status};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut command = cargo();
    command.args([
        "run",
        "--quiet",
        "-p",
        "vimeo-cli",
        "--bin",
        "vimeo",
        "--",
        "demo",
    ]);
    // Extra arguments go to `vimeo demo` (e.g. `--size 1GiB --chunk-size 128MiB`).
    command.args(args);
    if run_status(&mut command)? {
        Ok(())
    } else {
        Err("the demo failed".into())
    }
}
