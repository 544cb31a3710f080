//! Directive-value parsers (src/value.rs): a configuration line's
//! arguments, numbers, pixel counts and nginx variable syntax.

use image_resize_rs::value;

fn run(data: &[u8]) {
    let args: Vec<&[u8]> = data.split(|&b| b == b' ').collect();
    let _ = value::parse_filter_args(&args);
    for a in &args {
        let n = value::filter_value(a);
        if n != 0 && n != value::UNLIMITED {
            assert_eq!(value::parse_decimal(a), Some(n));
        }
        let _ = value::static_angle(a);
        let _ = value::static_dimension(a);
        let _ = value::static_quality(a);
        let _ = value::static_sharpen(a);
        let _ = value::parse_pixels(a);
        if value::check_variable_syntax(a).is_ok() && !value::has_variables(a) {
            assert!(!a.contains(&b'$'));
        }
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| run(data));
}
