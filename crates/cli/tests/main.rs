//! The real `tusc` and `vimeo` binaries, spawned against servers on loopback.

mod support;
mod tusc;
mod vimeo_cli;
