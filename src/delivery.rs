//! The box a request is answered with: the URL's box, multiplied by the
//! device pixel ratio (`image_resize_rs_dpr`), its open width filled from the
//! client's width hint (`image_resize_rs_client_width`), then snapped to the
//! size ladder (`image_resize_rs_widths`, `_heights`). Also `Save-Data`, and
//! the normalized key (`$image_resize_rs_key`) that lets a front cache keep
//! one entry per answer, whatever the URL's size or the hint headers said.
//!
//! Pure: the glue evaluates the directives' variables and hands the bytes
//! here, in the front server (for the cache key) and in the resizer (for the
//! resize) alike, so both compute the same box.

use crate::value::{self, ValueError, UNLIMITED};

/// The largest step of a ladder and the largest client width taken.
pub const MAX_STEP: u32 = 16384;
/// Device pixel ratios are capped at 3 (in hundredths), as the browsers'
/// own image-set and srcset guidance stops there.
pub const MAX_DPR: u32 = 300;
/// A DPR is rounded up to a quarter, so `2.625` and `2.6` share an answer
/// and no header value can make a new cache entry of its own.
const DPR_STEP: u32 = 25;
/// `image_resize_rs_save_data`'s default quality cap.
pub const DEFAULT_SAVE_DATA_QUALITY: u32 = 50;

/// `image_resize_rs_widths` / `_heights`: the sizes a request may be
/// answered with, ascending, without duplicates; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ladder(Vec<u32>);

impl Ladder {
    /// `N ...` (each 1..=[`MAX_STEP`]) or `off` (`Ok(None)`).
    pub fn parse(args: &[&[u8]]) -> Result<Option<Ladder>, ValueError> {
        if args == [b"off".as_slice()] {
            return Ok(None);
        }
        if args.is_empty() {
            return Err(ValueError::Arity);
        }
        let mut steps = Vec::with_capacity(args.len());
        for a in args {
            let n = value::parse_decimal(a)
                .filter(|n| (1..=u64::from(MAX_STEP)).contains(n))
                .ok_or_else(|| ValueError::InvalidValue(String::from_utf8_lossy(a).into()))?;
            steps.push(n as u32);
        }
        steps.sort_unstable();
        steps.dedup();
        Ok(Some(Ladder(steps)))
    }

    pub fn steps(&self) -> &[u32] {
        &self.0
    }

    /// The smallest step at least `n`, else the largest: a request never
    /// gets more than the ladder's top. `-` ([`UNLIMITED`]) and the
    /// invalid 0 stay as they are.
    pub fn snap(&self, n: u64) -> u64 {
        if n == 0 || n == UNLIMITED {
            return n;
        }
        let top = *self.0.last().expect("a ladder is never empty");
        let step = self.0.iter().copied().find(|&s| u64::from(s) >= n);
        u64::from(step.unwrap_or(top))
    }
}

/// A device pixel ratio in hundredths, from `Sec-CH-DPR`, `DPR` or an
/// argument: a positive decimal (`2`, `1.5`, `2.625`), rounded up to a
/// quarter and brought into 1..=3. Absent or unusable: 1.
pub fn parse_dpr(v: Option<&[u8]>) -> u32 {
    let Some(v) = v.map(trim) else { return 100 };
    let (int, frac) = match v.iter().position(|&c| c == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &[][..]),
    };
    if int.is_empty() || int.len() > 3 || frac.len() > 6 || !frac.iter().all(u8::is_ascii_digit) {
        return 100;
    }
    let Some(int) = value::parse_decimal(int) else {
        return 100;
    };
    // Hundredths, rounded up: any digit past the second adds one.
    let mut centi = int * 100;
    for (i, &d) in frac.iter().enumerate() {
        let d = u64::from(d - b'0');
        match i {
            0 => centi += d * 10,
            1 => centi += d,
            _ if d > 0 => {
                centi += 1;
                break;
            }
            _ => {}
        }
    }
    if centi == 0 {
        return 100;
    }
    let centi = centi.div_ceil(u64::from(DPR_STEP)) * u64::from(DPR_STEP);
    centi.clamp(100, u64::from(MAX_DPR)) as u32
}

/// `Sec-CH-Width`'s value: a positive integer of physical pixels, at most
/// [`MAX_STEP`] (larger is taken as [`MAX_STEP`]); else `None`.
pub fn parse_client_width(v: Option<&[u8]>) -> Option<u64> {
    let n = value::parse_decimal(trim(v?)).filter(|&n| n > 0)?;
    Some(n.min(u64::from(MAX_STEP)))
}

/// `Save-Data: on` (RFC-less, but every browser sends exactly that).
pub fn parse_save_data(v: Option<&[u8]>) -> bool {
    v.map(trim).is_some_and(|v| v.eq_ignore_ascii_case(b"on"))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// What shapes the box in a location: the ladders, and which hints are
/// configured (their values come with each request, in [`Hints`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy<'a> {
    pub widths: Option<&'a Ladder>,
    pub heights: Option<&'a Ladder>,
}

/// One request's hint values, already evaluated; `None`: the directive is
/// not configured here.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hints<'a> {
    pub dpr: Option<Option<&'a [u8]>>,
    pub client_width: Option<Option<&'a [u8]>>,
    pub save_data: Option<Option<&'a [u8]>>,
}

/// The box a request is answered with, and what decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The resize box; [`UNLIMITED`] for `-`, 0 when the URL's was invalid.
    pub width: u64,
    pub height: u64,
    /// `Save-Data: on` was honoured: qualities are capped.
    pub save_data: bool,
    /// Which hints were read (so `Vary` names exactly those).
    pub used_dpr: bool,
    pub used_client_width: bool,
    pub used_save_data: bool,
}

/// The URL's `width`×`height` (as `image_resize_rs resize` gives them:
/// [`UNLIMITED`] for `-`, 0 for invalid) under `policy` and `hints`.
/// The client's width is taken only where the URL leaves the width open
/// and a width ladder bounds it; it is physical pixels already, so the DPR
/// does not multiply it.
pub fn answer(width: u64, height: u64, policy: Policy<'_>, hints: Hints<'_>) -> Answer {
    let dpr = hints.dpr.map_or(100, parse_dpr);
    let scale = |n: u64| match n {
        0 | UNLIMITED => n,
        n => (n.saturating_mul(u64::from(dpr)) + 50) / 100,
    };
    let mut used_client_width = false;
    let mut w = scale(width);
    if width == UNLIMITED && policy.widths.is_some() {
        if let Some(v) = hints.client_width {
            used_client_width = true;
            if let Some(cw) = parse_client_width(v) {
                w = cw;
            }
        }
    }
    let mut h = scale(height);
    if let Some(l) = policy.widths {
        w = l.snap(w);
    }
    if let Some(l) = policy.heights {
        h = l.snap(h);
    }
    Answer {
        width: w,
        height: h,
        save_data: hints.save_data.is_some_and(parse_save_data),
        used_dpr: hints.dpr.is_some(),
        used_client_width,
        used_save_data: hints.save_data.is_some(),
    }
}

impl Answer {
    /// A hint was read: the same URL may get another answer with other
    /// headers (the ETag then names the box).
    pub fn hinted(&self) -> bool {
        self.used_dpr || self.used_client_width || self.used_save_data
    }

    /// `640x400`, `320x-`: the box as the URL would say it.
    pub fn box_text(&self) -> String {
        let dim = |n: u64| match n {
            UNLIMITED => "-".to_string(),
            n => n.to_string(),
        };
        format!("{}x{}", dim(self.width), dim(self.height))
    }

    /// `$image_resize_rs_key`: `<format>/<box>`, plus `/save-data` when it
    /// was honoured.
    pub fn key(&self, format: &str) -> String {
        let sd = if self.save_data { "/save-data" } else { "" };
        format!("{format}/{}{sd}", self.box_text())
    }

    /// A quality under `Save-Data`: at most `cap`.
    pub fn quality(&self, q: u64, cap: u32) -> u64 {
        if self.save_data {
            q.min(u64::from(cap))
        } else {
            q
        }
    }
}

/// The request header a directive's value reads, for `Vary`: `Some` when
/// the value is exactly one `$http_NAME` (or `${http_NAME}`) variable.
/// The well-known client hints get their registered spelling.
pub fn header_of(value: &[u8]) -> Option<String> {
    let name = value
        .strip_prefix(b"${http_")
        .and_then(|v| v.strip_suffix(b"}"))
        .or_else(|| value.strip_prefix(b"$http_"))?;
    if name.is_empty() || !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    Some(match lower.as_str() {
        "sec_ch_dpr" => "Sec-CH-DPR".into(),
        "sec_ch_width" => "Sec-CH-Width".into(),
        "sec_ch_viewport_width" => "Sec-CH-Viewport-Width".into(),
        "dpr" => "DPR".into(),
        "save_data" => "Save-Data".into(),
        _ => lower
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    })
}

/// `image_resize_rs_save_data VALUE [quality=N]`: the value and the cap.
pub fn parse_save_data_args<'a>(args: &[&'a [u8]]) -> Result<(&'a [u8], u32), ValueError> {
    match args {
        [v] => Ok((v, DEFAULT_SAVE_DATA_QUALITY)),
        [v, q] => {
            let n = q
                .strip_prefix(b"quality=")
                .ok_or_else(|| ValueError::InvalidParameter(String::from_utf8_lossy(q).into()))?;
            let n = value::static_quality(n)?;
            Ok((v, n as u32))
        }
        _ => Err(ValueError::Arity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(s: &str) -> Ladder {
        let words: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
        Ladder::parse(&words).unwrap().unwrap()
    }

    #[test]
    fn ladders_parse_sorted_and_refuse_nonsense() {
        assert_eq!(ladder("640 160 320 320").steps(), &[160, 320, 640]);
        assert_eq!(Ladder::parse(&[b"off"]), Ok(None));
        for bad in ["0", "-", "16385", "1.5", "$w", ""] {
            assert!(Ladder::parse(&[bad.as_bytes()]).is_err(), "{bad}");
        }
        assert_eq!(Ladder::parse(&[]), Err(ValueError::Arity));
    }

    #[test]
    fn snapping_goes_up_and_stops_at_the_top() {
        let l = ladder("160 320 640");
        assert_eq!(l.snap(1), 160);
        assert_eq!(l.snap(160), 160);
        assert_eq!(l.snap(161), 320);
        assert_eq!(l.snap(641), 640);
        assert_eq!(l.snap(9999), 640);
        assert_eq!(l.snap(UNLIMITED), UNLIMITED);
        assert_eq!(l.snap(0), 0);
    }

    #[test]
    fn a_thousand_widths_make_at_most_the_ladders_answers() {
        let l = ladder("160 320 480 640 960 1280");
        let p = Policy {
            widths: Some(&l),
            heights: None,
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut x = 12345u64;
        for _ in 0..1000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let w = 1 + (x >> 33) % 9999;
            let dpr = ["1", "1.5", "2", "2.625", "3", "7", "x"][(x >> 20) as usize % 7];
            let hints = Hints {
                dpr: Some(Some(dpr.as_bytes())),
                ..Hints::default()
            };
            seen.insert(answer(w, UNLIMITED, p, hints).key("avif"));
        }
        assert!(seen.len() <= 6, "{seen:?}");
    }

    #[test]
    fn dpr_values() {
        assert_eq!(parse_dpr(None), 100);
        assert_eq!(parse_dpr(Some(b"2")), 200);
        assert_eq!(parse_dpr(Some(b" 1.5 ")), 150);
        assert_eq!(parse_dpr(Some(b"2.625")), 275);
        assert_eq!(parse_dpr(Some(b"2.601")), 275);
        assert_eq!(parse_dpr(Some(b"2.5")), 250);
        assert_eq!(parse_dpr(Some(b"2.50000")), 250);
        assert_eq!(parse_dpr(Some(b"1.001")), 125);
        assert_eq!(parse_dpr(Some(b"0.5")), 100);
        assert_eq!(parse_dpr(Some(b"4")), 300);
        for bad in ["", "-1", "abc", "2.", ".5", "1e3", "2.5.1", "99999", "2,5"] {
            let v = parse_dpr(Some(bad.as_bytes()));
            assert!(v == 100 || (bad == "2." && v == 200), "{bad}: {v}");
        }
    }

    #[test]
    fn dpr_multiplies_the_box_before_the_ladder() {
        let l = ladder("160 320 640");
        let p = Policy {
            widths: Some(&l),
            heights: Some(&l),
        };
        let hints = |d: &'static str| Hints {
            dpr: Some(Some(d.as_bytes())),
            ..Hints::default()
        };
        let a = answer(300, 150, p, hints("2"));
        assert_eq!((a.width, a.height), (640, 320));
        assert!(a.used_dpr && a.hinted());
        // Capped at 3, then at the ladder's top.
        assert_eq!(answer(300, 150, p, hints("9")).width, 640);
        // No ladder: the product itself.
        let a = answer(300, UNLIMITED, Policy::default(), hints("1.5"));
        assert_eq!((a.width, a.height), (450, UNLIMITED));
        assert_eq!(a.box_text(), "450x-");
        // No hint configured: nothing read, nothing changes.
        let a = answer(300, 200, Policy::default(), Hints::default());
        assert_eq!((a.width, a.height, a.hinted()), (300, 200, false));
    }

    #[test]
    fn client_width_fills_an_open_width_under_a_ladder_only() {
        let l = ladder("160 320 640");
        let p = Policy {
            widths: Some(&l),
            heights: None,
        };
        let cw = |v: &'static str| Hints {
            client_width: Some(Some(v.as_bytes())),
            dpr: Some(Some(b"2")),
            ..Hints::default()
        };
        let a = answer(UNLIMITED, UNLIMITED, p, cw("500"));
        assert_eq!(a.width, 640);
        assert!(a.used_client_width);
        let a = answer(UNLIMITED, UNLIMITED, p, cw("100"));
        assert_eq!(a.width, 160, "physical pixels: not multiplied again");
        // A width in the URL wins; the hint is not read.
        let a = answer(150, UNLIMITED, p, cw("500"));
        assert_eq!((a.width, a.used_client_width), (320, false));
        // Garbage: the width stays open.
        assert_eq!(answer(UNLIMITED, 10, p, cw("wide")).width, UNLIMITED);
        // Without a ladder the hint is ignored (it would split the cache).
        let a = answer(UNLIMITED, 10, Policy::default(), cw("500"));
        assert_eq!((a.width, a.used_client_width), (UNLIMITED, false));
    }

    #[test]
    fn save_data_caps_quality_and_names_itself_in_the_key() {
        let sd = |v: &'static str| Hints {
            save_data: Some(Some(v.as_bytes())),
            ..Hints::default()
        };
        let a = answer(300, 200, Policy::default(), sd("on"));
        assert!(a.save_data && a.used_save_data);
        assert_eq!(a.quality(80, 50), 50);
        assert_eq!(a.quality(40, 50), 40);
        assert_eq!(a.key("webp"), "webp/300x200/save-data");
        let a = answer(300, 200, Policy::default(), sd("off"));
        assert!(!a.save_data && a.used_save_data);
        assert_eq!(a.quality(80, 50), 80);
        assert_eq!(a.key("orig"), "orig/300x200");
        let a = answer(
            300,
            200,
            Policy::default(),
            Hints {
                save_data: Some(None),
                ..Hints::default()
            },
        );
        assert!(!a.save_data && a.used_save_data);
    }

    #[test]
    fn headers_named_by_values() {
        assert_eq!(
            header_of(b"$http_sec_ch_dpr").as_deref(),
            Some("Sec-CH-DPR")
        );
        assert_eq!(
            header_of(b"${http_save_data}").as_deref(),
            Some("Save-Data")
        );
        assert_eq!(
            header_of(b"$http_x_my_width").as_deref(),
            Some("X-My-Width")
        );
        assert_eq!(header_of(b"$arg_dpr"), None);
        assert_eq!(header_of(b"$http_dpr$arg_x"), None);
        assert_eq!(header_of(b"2"), None);
    }

    #[test]
    fn save_data_arguments() {
        assert_eq!(
            parse_save_data_args(&[b"$http_save_data"]),
            Ok((&b"$http_save_data"[..], 50))
        );
        assert_eq!(
            parse_save_data_args(&[b"$x", b"quality=30"]),
            Ok((&b"$x"[..], 30))
        );
        assert!(parse_save_data_args(&[b"$x", b"quality=0"]).is_err());
        assert!(parse_save_data_args(&[b"$x", b"q=30"]).is_err());
    }
}
