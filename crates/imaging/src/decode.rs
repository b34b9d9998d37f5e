//! Header check (bomb protection) and decoding to a [`Raster`] no bigger than needed.

use std::io::Cursor;

use crate::exif::scan_jpeg;
use crate::raster::Raster;
use crate::{ImagingError, Limits, fit};

pub(crate) struct Decoded {
    /// Possibly DCT-downscaled pixels.
    pub raster: Raster,
    /// Dimensions declared in the file header (before any shrink-on-load).
    pub orig_width: u32,
    pub orig_height: u32,
    /// EXIF orientation 1..=8, applied to the output.
    pub orientation: u8,
}

fn check_limits(width: u32, height: u32, limits: &Limits) -> Result<(), ImagingError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_edge || height > limits.max_edge || pixels > limits.max_pixels {
        return Err(ImagingError::TooLarge {
            width: width.into(),
            height: height.into(),
        });
    }
    Ok(())
}

/// Upper bound for any single decoder allocation: 8 bytes per allowed pixel (16-bit RGBA)
/// plus slack for decoder state.
fn max_alloc(limits: &Limits) -> u64 {
    limits.max_pixels.saturating_mul(8).saturating_add(16 << 20)
}

pub(crate) fn decode(
    bytes: &[u8],
    mime: &'static str,
    largest: u32,
    limits: &Limits,
) -> Result<Decoded, ImagingError> {
    if mime == crate::JPEG {
        decode_jpeg(bytes, largest, limits)
    } else if mime == crate::PNG {
        match decode_png_streaming(bytes, largest, limits)? {
            Some(decoded) => Ok(decoded),
            // Interlaced (Adam7) PNGs are decoded whole.
            None => decode_with_image(bytes, mime, limits),
        }
    } else {
        decode_with_image(bytes, mime, limits)
    }
}

/// Integer box-shrink factor for PNG shrink-on-load: the largest `k` such that the
/// `ceil(w / k) x ceil(h / k)` image still covers the largest thumbnail.
pub(crate) fn box_shrink(width: u32, height: u32, largest: u32) -> u32 {
    let (tw, th) = fit(width, height, largest);
    // The final Lanczos step needs some headroom, so only shrink to at least 1x the target
    // along both axes (like libvips' `shrink` before `reduce`).
    let kx = width / tw.max(1);
    let ky = height / th.max(1);
    kx.min(ky).max(1)
}

fn png_err(e: png::DecodingError, width: u32, height: u32) -> ImagingError {
    match e {
        png::DecodingError::LimitsExceeded => ImagingError::TooLarge {
            width: width.into(),
            height: height.into(),
        },
        other => ImagingError::Corrupt(other.to_string()),
    }
}

/// Reads the IHDR dimensions by hand (signature + IHDR chunk header + 8 bytes).
fn png_ihdr_size(bytes: &[u8]) -> Result<(u32, u32), ImagingError> {
    let ihdr = bytes
        .get(8..24)
        .ok_or_else(|| ImagingError::Corrupt("truncated PNG header".into()))?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(ImagingError::Corrupt("missing IHDR".into()));
    }
    let w = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let h = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    Ok((w, h))
}

/// Row-streaming PNG decode with an integer box shrink on the fly: only one input row and
/// one row of accumulators are alive besides the (already reduced) output. Alpha is
/// premultiplied before averaging. Returns `None` for interlaced images.
fn decode_png_streaming(
    bytes: &[u8],
    largest: u32,
    limits: &Limits,
) -> Result<Option<Decoded>, ImagingError> {
    let (width, height) = png_ihdr_size(bytes)?;
    check_limits(width, height, limits)?;
    if width == 0 || height == 0 {
        return Err(ImagingError::Corrupt("zero dimension".into()));
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    decoder.set_limits(png::Limits {
        bytes: usize::try_from(max_alloc(limits)).unwrap_or(usize::MAX),
    });
    let mut reader = decoder.read_info().map_err(|e| png_err(e, width, height))?;
    if reader.info().interlaced {
        return Ok(None);
    }
    let (color, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Ok(None);
    }
    let (in_ch, out_ch): (usize, usize) = match color {
        png::ColorType::Grayscale => (1, 1),
        png::ColorType::GrayscaleAlpha => (2, 4),
        png::ColorType::Rgb => (3, 3),
        png::ColorType::Rgba => (4, 4),
        png::ColorType::Indexed => return Ok(None),
    };
    let k = box_shrink(width, height, largest) as usize;
    let (w, h) = (width as usize, height as usize);
    let (ow, oh) = (w.div_ceil(k), h.div_ceil(k));
    let mut out = Vec::with_capacity(ow * oh * out_ch);
    let mut acc = vec![0u32; ow * out_ch];
    let mut rows_in_block = 0usize;
    let mut y = 0usize;
    let flush = |acc: &mut [u32], rows: usize, out: &mut Vec<u8>| {
        for (bx, px) in acc.chunks_exact_mut(out_ch).enumerate() {
            let cols = (w - bx * k).min(k);
            let n = (cols * rows) as u32;
            for v in px.iter_mut() {
                out.push(((*v + n / 2) / n) as u8);
                *v = 0;
            }
        }
    };
    while let Some(row) = reader.next_row().map_err(|e| png_err(e, width, height))? {
        let data = row.data();
        if data.len() < w * in_ch || y >= h {
            return Err(ImagingError::Corrupt("short PNG row".into()));
        }
        for (x, px) in data[..w * in_ch].chunks_exact(in_ch).enumerate() {
            let a = &mut acc[(x / k) * out_ch..(x / k + 1) * out_ch];
            match in_ch {
                1 => a[0] += u32::from(px[0]),
                3 => {
                    a[0] += u32::from(px[0]);
                    a[1] += u32::from(px[1]);
                    a[2] += u32::from(px[2]);
                }
                2 => {
                    let (g, al) = (u32::from(px[0]), u32::from(px[1]));
                    let pg = (g * al + 127) / 255;
                    a[0] += pg;
                    a[1] += pg;
                    a[2] += pg;
                    a[3] += al;
                }
                _ => {
                    let al = u32::from(px[3]);
                    a[0] += (u32::from(px[0]) * al + 127) / 255;
                    a[1] += (u32::from(px[1]) * al + 127) / 255;
                    a[2] += (u32::from(px[2]) * al + 127) / 255;
                    a[3] += al;
                }
            }
        }
        y += 1;
        rows_in_block += 1;
        if rows_in_block == k || y == h {
            flush(&mut acc, rows_in_block, &mut out);
            rows_in_block = 0;
        }
    }
    if y != h {
        return Err(ImagingError::Corrupt("truncated PNG".into()));
    }
    let raster = Raster::new(ow as u32, oh as u32, out_ch as u8, out)?;
    Ok(Some(Decoded {
        raster,
        orig_width: width,
        orig_height: height,
        orientation: 1,
    }))
}

/// The largest DCT reduction (8, 4, 2 or 1) that keeps both edges at least as big as the
/// largest thumbnail.
pub(crate) fn jpeg_shrink(width: u32, height: u32, largest: u32) -> u32 {
    let (tw, th) = fit(width, height, largest);
    [8u32, 4, 2]
        .into_iter()
        .find(|&d| width.div_ceil(d) >= tw && height.div_ceil(d) >= th)
        .unwrap_or(1)
}

fn jpeg_err(e: jpeg_decoder::Error) -> ImagingError {
    match e {
        jpeg_decoder::Error::Unsupported(f) => ImagingError::UnsupportedFeature(format!("{f:?}")),
        other => ImagingError::Corrupt(other.to_string()),
    }
}

fn decode_jpeg(bytes: &[u8], largest: u32, limits: &Limits) -> Result<Decoded, ImagingError> {
    let header = scan_jpeg(bytes)?;
    check_limits(header.width, header.height, limits)?;
    if header.precision != 8 {
        return Err(ImagingError::UnsupportedFeature(format!(
            "{}-bit JPEG",
            header.precision
        )));
    }
    if !matches!(header.components, 1 | 3 | 4) {
        return Err(ImagingError::UnsupportedFeature(format!(
            "JPEG with {} components",
            header.components
        )));
    }
    let shrink = jpeg_shrink(header.width, header.height, largest);
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(max_alloc(limits)).unwrap_or(usize::MAX));
    // Both values fit in u16: they come from the SOF's 16-bit fields.
    let req_w = u16::try_from(header.width.div_ceil(shrink)).unwrap_or(u16::MAX);
    let req_h = u16::try_from(header.height.div_ceil(shrink)).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(req_w, req_h).map_err(jpeg_err)?;
    let pixels = decoder.decode().map_err(jpeg_err)?;
    let info = decoder
        .info()
        .ok_or_else(|| ImagingError::Corrupt("no frame".into()))?;
    let (w, h) = (u32::from(w), u32::from(h));
    let raster = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Raster::new(w, h, 1, pixels)?,
        jpeg_decoder::PixelFormat::RGB24 => Raster::new(w, h, 3, pixels)?,
        jpeg_decoder::PixelFormat::CMYK32 => Raster::new(w, h, 3, cmyk_to_rgb(&pixels))?,
        jpeg_decoder::PixelFormat::L16 => {
            return Err(ImagingError::UnsupportedFeature("16-bit JPEG".into()));
        }
    };
    Ok(Decoded {
        raster,
        orig_width: header.width,
        orig_height: header.height,
        orientation: header.orientation,
    })
}

fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = 255 - u16::from(px[3]);
        for &c in &px[..3] {
            rgb.push(((255 - u16::from(c)) * k / 255) as u8);
        }
    }
    rgb
}

fn image_err(e: image::ImageError, width: u32, height: u32) -> ImagingError {
    match e {
        image::ImageError::Limits(_) => ImagingError::TooLarge {
            width: width.into(),
            height: height.into(),
        },
        image::ImageError::Unsupported(u) => ImagingError::UnsupportedFeature(u.to_string()),
        image::ImageError::Encoding(e) => ImagingError::Internal(e.to_string()),
        other => ImagingError::Corrupt(other.to_string()),
    }
}

fn decode_with_image(
    bytes: &[u8],
    mime: &'static str,
    limits: &Limits,
) -> Result<Decoded, ImagingError> {
    let format = if mime == crate::PNG {
        image::ImageFormat::Png
    } else {
        image::ImageFormat::WebP
    };
    // Header only: no pixel buffer is allocated here.
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| image_err(e, 0, 0))?;
    check_limits(width, height, limits)?;
    if width == 0 || height == 0 {
        return Err(ImagingError::Corrupt("zero dimension".into()));
    }

    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_edge);
    image_limits.max_image_height = Some(limits.max_edge);
    image_limits.max_alloc = Some(max_alloc(limits));
    reader.limits(image_limits);
    let img = reader.decode().map_err(|e| image_err(e, width, height))?;
    let (w, h) = (img.width(), img.height());
    let raster = match img {
        image::DynamicImage::ImageLuma8(b) => Raster::new(w, h, 1, b.into_raw())?,
        image::DynamicImage::ImageRgb8(b) => Raster::new(w, h, 3, b.into_raw())?,
        image::DynamicImage::ImageRgba8(b) => Raster::from_straight_rgba(w, h, b.into_raw())?,
        other if other.color().has_alpha() => {
            Raster::from_straight_rgba(w, h, other.into_rgba8().into_raw())?
        }
        other => Raster::new(w, h, 3, other.into_rgb8().into_raw())?,
    };
    Ok(Decoded {
        raster,
        orig_width: w,
        orig_height: h,
        orientation: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_shrink_choice() {
        assert_eq!(box_shrink(4000, 3000, 1024), 3);
        assert_eq!(box_shrink(4000, 3000, 256), 15);
        assert_eq!(box_shrink(1000, 700, 1024), 1);
        assert_eq!(box_shrink(100_000, 2, 256), 2);
    }

    #[test]
    fn shrink_choice() {
        // 4000x3000 -> 1024x768: 1/2 gives 2000x1500, 1/4 would give 1000x750 (< 1024).
        assert_eq!(jpeg_shrink(4000, 3000, 1024), 2);
        // Only 256 requested: 1/8 gives 500x375.
        assert_eq!(jpeg_shrink(4000, 3000, 256), 8);
        assert_eq!(jpeg_shrink(8000, 6000, 1024), 4);
        // Small source is never shrunk below itself.
        assert_eq!(jpeg_shrink(800, 600, 1024), 1);
    }
}
