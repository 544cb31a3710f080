//! Directive-value parsers (src/value.rs): a configuration line's
//! arguments, numbers, pixel counts and nginx variable syntax, with the
//! properties the config and request paths rely on.

use image_resize_rs::value;

fn run(data: &[u8]) {
    let args: Vec<&[u8]> = data.split(|&b| b == b' ').collect();
    let _ = value::parse_filter_args(&args);
    for a in &args {
        let n = value::filter_value(a);
        if n != 0 && n != value::UNLIMITED {
            assert_eq!(value::parse_decimal(a), Some(n));
        }
        // Static parsing and request-time checking agree.
        assert_eq!(
            value::static_angle(a).is_ok(),
            value::check_angle(n).is_ok()
        );
        assert_eq!(
            value::static_dimension(a).is_ok(),
            value::check_dimension(n).is_ok()
        );
        if let Ok(q) = value::static_quality(a) {
            assert!(q > 0 && value::check_quality(q).is_ok());
        }
        let _ = value::static_sharpen(a);
        let _ = value::check_sharpen(n);
        if let Ok(p) = value::parse_pixels(a) {
            assert!(p > 0);
        }
        if value::check_variable_syntax(a).is_ok() {
            // Every `$` starts a name, a `{name}` or a capture number.
            for (i, _) in a.iter().enumerate().filter(|(_, &c)| c == b'$') {
                let next = a.get(i + 1).copied().unwrap_or(0);
                assert!(next.is_ascii_alphanumeric() || next == b'_' || next == b'{');
            }
        }
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| run(data));
}
