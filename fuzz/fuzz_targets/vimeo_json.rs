//! Vimeo answers: error bodies (any status), list pages with paging, and the
//! rate-limit headers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let status = match data.first() {
        Some(b) => 400 + u16::from(*b) % 200,
        None => 500,
    };
    vimeo::fuzzing::error_body(status, data);
    vimeo::fuzzing::page(data);
});
