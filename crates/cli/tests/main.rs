//! The real `tusc` and `vimeo` binaries, spawned against servers on loopback.

mod hostile;
mod kill;
mod support;
mod tusc;
mod vimeo_cli;
