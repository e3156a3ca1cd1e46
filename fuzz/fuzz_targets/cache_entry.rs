//! Cache entries as read back from disk, sled or Redis, and cached responses.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cache::fuzzing::decode(data);
    vimeo::fuzzing::cached_response(data);
});
