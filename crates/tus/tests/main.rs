//! The tus client against real servers over loopback (one test binary).

mod extensions;
mod faults;
mod hooks;
mod parallel;
mod proxy;
mod resume;
mod support;
mod tls;
mod upload;
