//! The real `tusc` and `vimeo` binaries, spawned against servers on loopback.

mod fleet;
mod hostile;
mod kill;
mod proxy;
mod support;
mod tusc;
mod usage;
mod vimeo_cli;
