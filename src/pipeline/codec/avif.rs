//! AVIF: one AV1 still, by libaom's all-intra encoder (the default, crate
//! `irs-aom`) or rav1e, on the calling thread (one tile, one thread),
//! wrapped by avif-serialize.
//!
//! libaom is the default because it is faster for a thumbnail and smaller
//! at equal SSIM (`scripts/bench formats` runs both; BENCHMARKS.md).
//!
//! Why not ravif (which we used first): ravif codes colour as 4:4:4 only
//! and, at the fast speeds a request can afford, fixes rav1e's partitions at
//! 16×16. Photos lose nothing visible with 4:2:0 chroma (every JPEG here is
//! 4:2:0), and the chroma planes are then a quarter of the work and of the
//! bits. `scripts/bench formats` measured the difference (BENCHMARKS.md,
//! "Output formats").
//!
//! Colour: sRGB → Y′CbCr BT.601, full range, 8 bit, chroma averaged over 2×2
//! (4:2:0, sample position unknown). Alpha, when a pixel is not opaque, is a
//! second, monochrome AV1 image at the same quantizer, full range.

use avif_serialize::constants::MatrixCoefficients as BoxMatrix;
use rav1e::prelude::*;

use crate::pipeline::ops::Bitmap;
use crate::value::{clamp_avif_speed, clamp_quality, MAX_QUALITY};

/// Which AV1 encoder codes the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AvifEncoder {
    Aom,
    Rav1e,
}

/// Knobs of one AVIF encode. `quality` is the 1..=100 scale of
/// `image_resize_rs_avif_quality` (ravif's, so the directive kept its
/// meaning), `speed` 1 (slowest) ..= 10 (rav1e's scale; libaom's cpu-used
/// is one less).
#[derive(Clone, Copy, Debug)]
pub struct AvifParams {
    pub quality: u32,
    pub speed: u32,
    pub encoder: AvifEncoder,
    /// libaom's cq-level instead of the one `quality` maps to (sweeps).
    pub cq_level: Option<u32>,
    /// rav1e's tuning: `Psychovisual` (false, the default) measured smaller
    /// and closer to the source in SSIM than `Psnr` at both benchmark sizes.
    pub psnr_tune: bool,
    /// Smallest and largest partition (4, 8, 16, 32 or 64); `None`: the
    /// speed's own.
    pub partitions: Option<(u8, u8)>,
}

impl AvifParams {
    pub fn new(quality: u32, speed: u32) -> Self {
        AvifParams {
            quality,
            speed,
            encoder: AvifEncoder::Aom,
            cq_level: None,
            psnr_tune: false,
            partitions: None,
        }
    }
}

/// ravif's quality → AV1 quantizer (0..=255) mapping.
pub fn quality_to_quantizer(quality: u32) -> usize {
    let q = clamp_quality(quality) as f32 / MAX_QUALITY as f32;
    let x = if q >= 0.82 {
        (1. - q) * 2.6
    } else if q > 0.25 {
        q.mul_add(-0.5, 1. - 0.125)
    } else {
        1. - q
    };
    (x * 255.).round() as usize
}

fn block(size: u8) -> BlockSize {
    match size {
        0..=4 => BlockSize::BLOCK_4X4,
        5..=8 => BlockSize::BLOCK_8X8,
        9..=16 => BlockSize::BLOCK_16X16,
        17..=32 => BlockSize::BLOCK_32X32,
        _ => BlockSize::BLOCK_64X64,
    }
}

/// rav1e's preset for `speed`, with what does not apply to a single still
/// picture switched off and our own partition sizes. rav1e's own 9 and 10
/// jump to 16×16..32×32 blocks (ravif's to 16×16 only), which at thumbnail
/// sizes costs a quarter more bytes for the same SSIM. Measured on
/// photographs (`scripts/bench formats`, 300×200, one core):
/// - 10: 8×8 only — the fastest (~22 ms), ~5% more bytes than 9;
/// - 9 (default): 8×8 and 16×16 (~32 ms);
/// - ≤ 6: 8×8..32×32 with the finer intra angles (slower still).
fn speed_settings(p: &AvifParams) -> SpeedSettings {
    let speed = clamp_avif_speed(p.speed) as u8;
    let mut s = SpeedSettings::from_preset(speed);
    s.scene_detection_mode = SceneDetectionSpeed::None;
    s.motion.include_near_mvs = false;
    if speed >= 7 {
        // Angle deltas multiply the intra candidates: about a third of the
        // time for ~3% of the bytes. ravif drops them from speed 7 too.
        s.prediction.fine_directional_intra = false;
    }
    let (min, max) = p.partitions.unwrap_or(match speed {
        1..=6 => (8, 32),
        7..=9 => (8, 16),
        _ => (8, 8),
    });
    s.partition.partition_range = PartitionRange::new(block(min), block(max.max(min)));
    s
}

fn av1_config(w: usize, h: usize, sampling: ChromaSampling, p: &AvifParams) -> Config {
    let q = quality_to_quantizer(p.quality);
    Config::new()
        .with_encoder_config(EncoderConfig {
            width: w,
            height: h,
            bit_depth: 8,
            chroma_sampling: sampling,
            chroma_sample_position: ChromaSamplePosition::Unknown,
            pixel_range: PixelRange::Full,
            color_description: (sampling != ChromaSampling::Cs400).then_some(ColorDescription {
                color_primaries: ColorPrimaries::BT709,
                transfer_characteristics: TransferCharacteristics::SRGB,
                matrix_coefficients: MatrixCoefficients::BT601,
            }),
            still_picture: true,
            quantizer: q,
            min_quantizer: q as u8,
            tune: if p.psnr_tune {
                Tune::Psnr
            } else {
                Tune::Psychovisual
            },
            tiles: 1,
            speed_settings: speed_settings(p),
            ..EncoderConfig::default()
        })
        .with_threads(1)
}

/// libaom's cq-level (0..=63) for `quality`: the AV1 quantizer of
/// [`quality_to_quantizer`] on libaom's scale, less an offset that keeps
/// the default (80) as close to JPEG q80's SSIM as rav1e's is
/// (`scripts/bench formats`).
pub fn quality_to_cq_level(quality: u32) -> u32 {
    let q = quality_to_quantizer(quality) as u32; // 0..=255
    ((q * 63 + 127) / 255).saturating_sub(AOM_CQ_OFFSET)
}

/// See [`quality_to_cq_level`].
const AOM_CQ_OFFSET: u32 = 3;

/// One still: `planes` are packed Y[, Cb, Cr] (strides w, (w + 1) / 2).
fn encode_picture(
    w: usize,
    h: usize,
    sampling: ChromaSampling,
    planes: &[(&[u8], usize)],
    p: &AvifParams,
) -> Result<Vec<u8>, String> {
    if p.encoder == AvifEncoder::Rav1e {
        return encode_frame(w, h, sampling, planes, p);
    }
    let s = irs_aom::Settings {
        cq_level: p.cq_level.unwrap_or_else(|| quality_to_cq_level(p.quality)),
        speed: clamp_avif_speed(p.speed).saturating_sub(1),
        tune_ssim: !p.psnr_tune,
        // BT.709 primaries, sRGB transfer, BT.601 matrix (as rav1e's).
        cicp: irs_aom::Cicp {
            primaries: 1,
            transfer: 13,
            matrix: 6,
        },
        full_range: true,
    };
    let picture = match planes {
        [(y, _)] => irs_aom::Planes::Mono(y),
        [(y, _), (cb, _), (cr, _)] => irs_aom::Planes::Yuv420 { y, cb, cr },
        _ => return Err("AVIF: 1 or 3 planes".into()),
    };
    irs_aom::encode_still(w as u32, h as u32, picture, &s)
}

/// One key frame by rav1e: `planes` are (data, stride) for Y[, Cb, Cr].
fn encode_frame(
    w: usize,
    h: usize,
    sampling: ChromaSampling,
    planes: &[(&[u8], usize)],
    p: &AvifParams,
) -> Result<Vec<u8>, String> {
    let mut ctx: Context<u8> = av1_config(w, h, sampling, p)
        .new_context()
        .map_err(|e| e.to_string())?;
    let mut frame = ctx.new_frame();
    for (plane, (data, stride)) in frame.planes.iter_mut().zip(planes) {
        plane.copy_from_raw_u8(data, *stride, 1);
    }
    ctx.send_frame(frame).map_err(|e| e.to_string())?;
    ctx.flush();
    let mut out = Vec::new();
    loop {
        match ctx.receive_packet() {
            Ok(mut packet) => {
                if packet.frame_type == FrameType::KEY {
                    out.append(&mut packet.data);
                }
            }
            Err(EncoderStatus::Encoded) => continue,
            Err(EncoderStatus::LimitReached) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

/// sRGB pixels (`ch` 3 or 4 bytes each) → full-range BT.601 Y′ plane and
/// 4:2:0 Cb/Cr planes (each chroma sample the mean of its 2×2 block).
pub(crate) fn ycbcr420(px: &[u8], ch: usize, w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (cw, chh) = (w.div_ceil(2), h.div_ceil(2));
    let mut y = vec![0u8; w * h];
    let mut cb = vec![0u8; cw * chh];
    let mut cr = vec![0u8; cw * chh];
    // Chroma accumulated in f32 per chroma row, 2 luma rows at a time.
    let mut acc = vec![(0f32, 0f32, 0u32); cw];
    for row in 0..h {
        let src = &px[row * w * ch..(row + 1) * w * ch];
        let dst = &mut y[row * w..(row + 1) * w];
        for (x, (p, yy)) in src.chunks_exact(ch).zip(dst.iter_mut()).enumerate() {
            let (r, g, b) = (p[0] as f32, p[1] as f32, p[2] as f32);
            let l = 0.299 * r + 0.587 * g + 0.114 * b;
            *yy = l.round() as u8;
            let a = &mut acc[x / 2];
            a.0 += (b - l) * (0.5 / (1. - 0.114));
            a.1 += (r - l) * (0.5 / (1. - 0.299));
            a.2 += 1;
        }
        if row % 2 == 1 || row + 1 == h {
            let c = row / 2;
            for (x, a) in acc.iter_mut().enumerate() {
                let n = a.2.max(1) as f32;
                cb[c * cw + x] = (a.0 / n + 128.).round().clamp(0., 255.) as u8;
                cr[c * cw + x] = (a.1 / n + 128.).round().clamp(0., 255.) as u8;
                *a = (0., 0., 0);
            }
        }
    }
    (y, cb, cr)
}

/// AVIF file for `img` (RGB or RGBA). Alpha that is opaque everywhere is
/// left out.
pub fn encode(img: &Bitmap, p: &AvifParams, exif: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let (w, h, ch) = (img.width as usize, img.height as usize, img.ch);
    if w == 0 || h == 0 || w > 65536 || h > 65536 || !(3..=4).contains(&ch) {
        return Err(format!("{w}x{h} is beyond the format's limit"));
    }
    let (y, cb, cr) = ycbcr420(&img.data, ch, w, h);
    let cw = w.div_ceil(2);
    let color = encode_picture(
        w,
        h,
        ChromaSampling::Cs420,
        &[(&y, w), (&cb, cw), (&cr, cw)],
        p,
    )?;
    let alpha = if img.has_transparency() {
        let a: Vec<u8> = img.data.chunks_exact(4).map(|p| p[3]).collect();
        Some(encode_picture(w, h, ChromaSampling::Cs400, &[(&a, w)], p)?)
    } else {
        None
    };
    let mut boxes = avif_serialize::Aviffy::new();
    boxes
        .set_matrix_coefficients(BoxMatrix::Bt601)
        .set_full_color_range(true)
        .set_chroma_subsampling((true, true))
        .set_seq_profile(0);
    if let Some(e) = exif {
        boxes.set_exif(e.to_vec());
    }
    Ok(boxes.to_vec(&color, alpha.as_deref(), w as u32, h as u32, 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizer_scale_is_ravifs() {
        assert_eq!(quality_to_quantizer(100), 0);
        assert_eq!(quality_to_quantizer(80), 121);
        assert_eq!(quality_to_quantizer(0), quality_to_quantizer(1));
    }

    #[test]
    fn ycbcr_of_grey_and_primaries() {
        // 3×3: odd sizes give a partial chroma block on the right and bottom.
        let mut px = Vec::new();
        for _ in 0..9 {
            px.extend_from_slice(&[128, 128, 128]);
        }
        let (y, cb, cr) = ycbcr420(&px, 3, 3, 3);
        assert!(y.iter().all(|&v| v == 128));
        assert_eq!((cb.len(), cr.len()), (4, 4));
        assert!(cb.iter().chain(&cr).all(|&v| v == 128));
        let (y, cb, cr) = ycbcr420(&[255, 0, 0, 255], 4, 1, 1);
        assert_eq!(y, [76]);
        assert_eq!(cb[0], 85); // 128 - 0.5 * 76 / 0.886 → 85
        assert_eq!(cr[0], 255);
    }
}
