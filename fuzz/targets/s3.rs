//! S3 key encoding, endpoint/bucket/region parsing and signing: whatever
//! the key, its encoded path is accepted by the signer, and nothing panics.

use std::time::{Duration, UNIX_EPOCH};

use image_resize_rs::s3::{self, Addressing, Bucket, Credentials, Endpoint};

fn run(data: &[u8]) {
    // Fields separated by NUL: key, endpoint, bucket, region, query.
    let text = String::from_utf8_lossy(data);
    let mut f = text.split('\0');
    let key = f.next().unwrap_or("");
    let endpoint = f.next().unwrap_or("http://127.0.0.1:9000");
    let bucket = f.next().unwrap_or("photos");
    let region = f.next().unwrap_or("us-east-1");
    let query = f.next().unwrap_or("");

    let encoded = s3::uri_encode_key(key);
    assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
    let creds = Credentials::new("AKIDFUZZ", "fuzz/secret+key", None).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let _ = Addressing::parse(bucket);
    let _ = s3::validate_region(region);
    let ep = Endpoint::parse(endpoint)
        .unwrap_or_else(|_| Endpoint::parse("http://127.0.0.1:9000").expect("static endpoint"));
    for addressing in [Addressing::Path, Addressing::Virtual] {
        let Ok(b) = Bucket::new(ep.clone(), bucket, addressing) else {
            continue;
        };
        let path = b.path(key);
        let _ = b.url(key);
        let signed = s3::sign("GET", &b.host_header(), &path, "", "us-east-1", &creds, now);
        // Any key S3 can store, in a bucket the configuration accepts, must
        // be signable.
        if Bucket::check_key(key).is_ok() {
            assert!(signed.is_ok(), "{:?}", signed.err());
        }
        let _ = s3::sign("GET", &b.host_header(), &path, query, region, &creds, now);
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| run(data));
}
