//! The real `tusc` and `vimeo` binaries, spawned against servers on loopback.

mod kill;
mod support;
mod tusc;
mod vimeo_cli;
