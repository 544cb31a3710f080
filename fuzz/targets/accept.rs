//! Accept negotiation (src/negotiate.rs): any header bytes against every
//! `image_resize_rs_formats` list, with the properties the cache key and
//! the ETags rely on.

use image_resize_rs::negotiate::{self, Output, Target, Token};

const LISTS: [&[Target]; 5] = [
    &[],
    &[Target::Avif],
    &[Target::Webp],
    &[Target::Avif, Target::Webp],
    &[Target::Webp, Target::Avif],
];

fn run(data: &[u8]) {
    for formats in LISTS {
        let got = negotiate::negotiate(data, formats);
        // Only a configured format can come out.
        if let Some(t) = got {
            assert!(formats.contains(&t));
        }
        // The variable's token agrees with the negotiation.
        let token = negotiate::token(Output::Original, formats, Some(data));
        assert_eq!(token, got.map_or(Token::Orig, Token::from));
        // A forced output ignores Accept entirely.
        assert_eq!(negotiate::token(Output::Jpeg, formats, Some(data)), Token::Jpeg);
        // ETags: `orig` keeps the tag; any other token changes it.
        let tag = b"\"5f0c-1a2b\"";
        assert_eq!(negotiate::etag_for(tag, Token::Orig), tag.to_vec());
        if token != Token::Orig {
            assert_ne!(negotiate::etag_for(tag, token), tag.to_vec());
        }
    }
    // Arbitrary bytes as directive values never panic.
    let args: Vec<&[u8]> = data.split(|&b| b == b' ').collect();
    let _ = negotiate::parse_formats(&args);
    let _ = negotiate::parse_output(data);
}

fn main() {
    afl::fuzz!(|data: &[u8]| run(data));
}
