//! The in-memory pixel buffer passed between pipeline stages.

/// 8-bit pixels, `ch` interleaved channels: 1 = grey, 3 = RGB, 4 = RGBA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub ch: usize,
    pub data: Vec<u8>,
}

impl Bitmap {
    /// Index of the first byte of pixel (x, y).
    #[inline]
    pub fn idx(&self, x: u32, y: u32) -> usize {
        (y as usize * self.width as usize + x as usize) * self.ch
    }

    /// True when the buffer has an alpha channel with at least one value below 255.
    pub fn has_transparency(&self) -> bool {
        self.ch == 4 && self.data.chunks_exact(4).any(|p| p[3] != 255)
    }

    /// Drops the alpha channel (RGBA -> RGB), keeping the colour underneath.
    pub fn drop_alpha(self) -> Bitmap {
        if self.ch != 4 {
            return self;
        }
        let data = self
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Bitmap {
            ch: 3,
            data,
            ..self
        }
    }

    /// Any layout -> RGBA.
    pub fn to_rgba(&self) -> Vec<u8> {
        match self.ch {
            4 => self.data.clone(),
            3 => self
                .data
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            _ => self.data.iter().flat_map(|&v| [v, v, v, 255]).collect(),
        }
    }

    /// RGBA -> RGB composited over white (straight alpha, sRGB values).
    pub fn flatten_on_white(&self) -> Bitmap {
        debug_assert_eq!(self.ch, 4);
        let data = self
            .data
            .chunks_exact(4)
            .flat_map(|p| {
                let a = p[3] as u32;
                let mix = |c: u8| ((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
                [mix(p[0]), mix(p[1]), mix(p[2])]
            })
            .collect();
        Bitmap {
            width: self.width,
            height: self.height,
            ch: 3,
            data,
        }
    }

    /// Grey or RGBA -> RGB (alpha dropped).
    pub fn to_rgb(&self) -> Vec<u8> {
        match self.ch {
            3 => self.data.clone(),
            4 => self
                .data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            _ => self.data.iter().flat_map(|&v| [v, v, v]).collect(),
        }
    }
}
