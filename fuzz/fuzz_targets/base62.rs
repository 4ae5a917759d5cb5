#![no_main]
//! See `macaroon_mint_fuzz::base62` for the oracle.

libfuzzer_sys::fuzz_target!(|data: &[u8]| macaroon_mint_fuzz::base62::base62(data));
