//! The tus client against real servers over loopback (one test binary).

mod extensions;
mod parallel;
mod support;
mod tls;
mod upload;
