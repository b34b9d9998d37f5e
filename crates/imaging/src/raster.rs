//! 8-bit pixel buffers: resize (SIMD convolution), alpha flattening, orientation, JPEG encoding.

use fast_image_resize as fir;

use crate::ImagingError;

/// Interleaved 8-bit pixels: 1 (gray), 3 (RGB) or 4 (RGBA, alpha **premultiplied**) channels.
#[derive(Debug, Clone)]
pub(crate) struct Raster {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

fn internal(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::Internal(e.to_string())
}

impl Raster {
    pub fn new(width: u32, height: u32, channels: u8, data: Vec<u8>) -> Result<Self, ImagingError> {
        let expected = width as usize * height as usize * usize::from(channels);
        if !matches!(channels, 1 | 3 | 4) || data.len() != expected || width == 0 || height == 0 {
            return Err(ImagingError::Corrupt(format!(
                "decoder returned {} bytes for {width}x{height}x{channels}",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            channels,
            data,
        })
    }

    /// Builds a raster from straight (non-premultiplied) RGBA by premultiplying in place.
    pub fn from_straight_rgba(
        width: u32,
        height: u32,
        data: Vec<u8>,
    ) -> Result<Self, ImagingError> {
        let mut img = fir::images::Image::from_vec_u8(width, height, data, fir::PixelType::U8x4)
            .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
        fir::MulDiv::new()
            .multiply_alpha_inplace(&mut img)
            .map_err(internal)?;
        Self::new(width, height, 4, img.into_vec())
    }

    fn pixel_type(&self) -> fir::PixelType {
        match self.channels {
            1 => fir::PixelType::U8,
            3 => fir::PixelType::U8x3,
            _ => fir::PixelType::U8x4,
        }
    }

    /// Composites premultiplied RGBA onto white (`c + (255 - a)`); `None` when there is no alpha.
    pub fn flattened(&self) -> Option<Raster> {
        if self.channels != 4 {
            return None;
        }
        let mut rgb = Vec::with_capacity(self.data.len() / 4 * 3);
        for px in self.data.chunks_exact(4) {
            let white = 255 - px[3];
            rgb.extend_from_slice(&[
                px[0].saturating_add(white),
                px[1].saturating_add(white),
                px[2].saturating_add(white),
            ]);
        }
        Some(Raster {
            width: self.width,
            height: self.height,
            channels: 3,
            data: rgb,
        })
    }

    /// Applies EXIF orientation 2..=8; `None` for 1 (nothing to do).
    pub fn oriented(&self, orientation: u8) -> Option<Raster> {
        if !(2..=8).contains(&orientation) {
            return None;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let bpp = usize::from(self.channels);
        let swap = orientation >= 5;
        let (dw, dh) = if swap { (h, w) } else { (w, h) };
        let mut out = vec![0u8; self.data.len()];
        for y in 0..h {
            let row = &self.data[y * w * bpp..(y + 1) * w * bpp];
            for x in 0..w {
                let (dx, dy) = match orientation {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (h - 1 - y, x),
                    7 => (h - 1 - y, w - 1 - x),
                    _ => (y, w - 1 - x),
                };
                let d = (dy * dw + dx) * bpp;
                out[d..d + bpp].copy_from_slice(&row[x * bpp..(x + 1) * bpp]);
            }
        }
        Some(Raster {
            width: dw as u32,
            height: dh as u32,
            channels: self.channels,
            data: out,
        })
    }

    /// Baseline JPEG, 4:2:0 chroma subsampling. Expects 1 or 3 channels.
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>, ImagingError> {
        let color = match self.channels {
            1 => jpeg_encoder::ColorType::Luma,
            3 => jpeg_encoder::ColorType::Rgb,
            c => return Err(internal(format!("cannot encode {c} channels"))),
        };
        let w = u16::try_from(self.width).map_err(internal)?;
        let h = u16::try_from(self.height).map_err(internal)?;
        let mut out = Vec::with_capacity(self.data.len() / 8 + 1024);
        let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        enc.encode(&self.data, w, h, color).map_err(internal)?;
        Ok(out)
    }
}

/// Reusable SIMD resizer (Lanczos3 convolution).
pub(crate) struct Resizer {
    inner: fir::Resizer,
    options: fir::ResizeOptions,
}

impl Resizer {
    pub fn new() -> Self {
        Self {
            inner: fir::Resizer::new(),
            options: fir::ResizeOptions::new()
                .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
                // Alpha is already premultiplied (see `Raster`).
                .use_alpha(false),
        }
    }

    pub fn resize(
        &mut self,
        src: &Raster,
        width: u32,
        height: u32,
    ) -> Result<Raster, ImagingError> {
        if (src.width, src.height) == (width, height) {
            return Ok(src.clone());
        }
        let pt = src.pixel_type();
        let view =
            fir::images::ImageRef::new(src.width, src.height, &src.data, pt).map_err(internal)?;
        let mut dst = fir::images::Image::new(width, height, pt);
        self.inner
            .resize(&view, &mut dst, &self.options)
            .map_err(internal)?;
        Raster::new(width, height, src.channels, dst.into_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: u32, h: u32) -> Raster {
        let data = (0..w * h).map(|i| i as u8).collect();
        Raster::new(w, h, 1, data).unwrap()
    }

    #[test]
    fn orientations_map_corners() {
        // 3x2 image:  0 1 2 / 3 4 5
        let r = numbered(3, 2);
        let o = |n| r.oriented(n).unwrap();
        assert_eq!(o(2).data, [2, 1, 0, 5, 4, 3]);
        assert_eq!(o(3).data, [5, 4, 3, 2, 1, 0]);
        assert_eq!(o(4).data, [3, 4, 5, 0, 1, 2]);
        assert_eq!((o(5).width, o(5).height), (2, 3));
        assert_eq!(o(5).data, [0, 3, 1, 4, 2, 5]);
        assert_eq!(o(6).data, [3, 0, 4, 1, 5, 2]); // 90° clockwise
        assert_eq!(o(7).data, [5, 2, 4, 1, 3, 0]);
        assert_eq!(o(8).data, [2, 5, 1, 4, 0, 3]); // 90° counter-clockwise
        assert!(r.oriented(1).is_none());
    }

    #[test]
    fn flatten_onto_white() {
        let r = Raster::from_straight_rgba(2, 1, vec![255, 0, 0, 0, 0, 0, 255, 255]).unwrap();
        assert_eq!(r.flattened().unwrap().data, [255, 255, 255, 0, 0, 255]);
    }
}
