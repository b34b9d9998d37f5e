//! Thumbnails for uploaded images.
//!
//! [`make_thumbnails`] takes the bytes of an uploaded JPEG, PNG or WebP and returns one JPEG
//! thumbnail per requested size (longest edge, never upscaled), with the JPEG EXIF orientation
//! applied and any alpha channel flattened onto white.
//!
//! * The header is read first and a decompression bomb (too many pixels or too long an edge,
//!   see [`Limits`]) is refused before any pixel buffer is allocated.
//! * JPEGs are decoded with DCT scaling (1/2, 1/4 or 1/8, like libvips' shrink-on-load): the
//!   largest reduction that still leaves the decoded image at least as big as the largest
//!   thumbnail. The resize is a SIMD Lanczos3 convolution (`fast_image_resize`); each smaller
//!   thumbnail is made from the smallest already-made image that is still big enough.
//! * Errors are typed ([`ImagingError`]) and carry a client-safe [`ImagingError::reason`].
//!   No input makes this crate panic (decoders run behind `catch_unwind` as a last line of
//!   defence, and the tests feed random and truncated bytes).

mod decode;
mod exif;
mod raster;

use std::panic::{AssertUnwindSafe, catch_unwind};

use raster::Raster;

/// MIME type of JPEG.
pub const JPEG: &str = "image/jpeg";
/// MIME type of PNG.
pub const PNG: &str = "image/png";
/// MIME type of WebP.
pub const WEBP: &str = "image/webp";

/// JPEG quality of the thumbnails.
pub const OUTPUT_QUALITY: u8 = 80;

/// One generated thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The requested longest edge (as passed in `sizes`).
    pub max_edge: u32,
    /// Width of the output after orientation.
    pub width: u32,
    /// Height of the output after orientation.
    pub height: u32,
    /// Baseline JPEG bytes (4:2:0, quality [`OUTPUT_QUALITY`]).
    pub jpeg: Vec<u8>,
}

/// Limits checked against the declared header before anything is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum declared `width * height`.
    pub max_pixels: u64,
    /// Maximum declared width or height (and maximum requested thumbnail size).
    pub max_edge: u32,
}

impl Default for Limits {
    /// 50 megapixels and 20000 px per edge.
    fn default() -> Self {
        Self {
            max_pixels: 50_000_000,
            max_edge: 20_000,
        }
    }
}

/// Why an image was refused. [`ImagingError::reason`] is safe to show to clients; the
/// `Display` text may contain decoder details and is meant for logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImagingError {
    /// The declared content type is not one we thumbnail.
    #[error("unsupported content type {0:?}")]
    UnsupportedType(String),
    /// The bytes are not of the declared content type.
    #[error("content declared as {declared} but looks like {}", detected.unwrap_or("unknown data"))]
    TypeMismatch {
        declared: &'static str,
        detected: Option<&'static str>,
    },
    /// The declared dimensions exceed [`Limits`] (decompression bomb protection).
    #[error("image too large: {width}x{height}")]
    TooLarge { width: u64, height: u64 },
    /// Truncated, corrupt or undecodable data.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// A valid image of the right type using a feature we do not decode (e.g. 12-bit JPEG).
    #[error("unsupported image feature: {0}")]
    UnsupportedFeature(String),
    /// A requested size is zero or above `Limits::max_edge`, or no size was requested.
    #[error("invalid thumbnail size {0}")]
    InvalidSize(u32),
    /// A bug or resource problem on our side (not the client's fault).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ImagingError {
    /// Short, stable, client-safe reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnsupportedType(_) => "unsupported_type",
            Self::TypeMismatch { .. } => "type_mismatch",
            Self::TooLarge { .. } => "too_large",
            Self::Corrupt(_) => "corrupt",
            Self::UnsupportedFeature(_) => "unsupported_feature",
            Self::InvalidSize(_) => "invalid_size",
            Self::Internal(_) => "internal",
        }
    }

    /// True when retrying with the same input cannot succeed (the message can go to a DLQ /
    /// be marked failed right away).
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::Internal(_))
    }
}

/// Detects the image type from magic bytes: `"image/jpeg"`, `"image/png"` or `"image/webp"`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(WEBP)
    } else {
        None
    }
}

/// Maps a declared content type (case-insensitive, parameters ignored, `image/jpg` and
/// `image/pjpeg` accepted as aliases) to one of our MIME constants.
fn normalize_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(JPEG)
        || essence.eq_ignore_ascii_case("image/jpg")
        || essence.eq_ignore_ascii_case("image/pjpeg")
    {
        Some(JPEG)
    } else if essence.eq_ignore_ascii_case(PNG) {
        Some(PNG)
    } else if essence.eq_ignore_ascii_case(WEBP) {
        Some(WEBP)
    } else {
        None
    }
}

/// Makes one JPEG thumbnail per entry of `sizes` (longest edge in pixels; a smaller source
/// keeps its size), in the order of `sizes`.
///
/// `content_type` is the type the uploader declared; bytes of another type are refused with
/// [`ImagingError::TypeMismatch`].
pub fn make_thumbnails(
    bytes: &[u8],
    content_type: &str,
    sizes: &[u32],
    limits: &Limits,
) -> Result<Vec<Thumbnail>, ImagingError> {
    let declared = normalize_content_type(content_type)
        .ok_or_else(|| ImagingError::UnsupportedType(content_type.chars().take(64).collect()))?;
    let detected = sniff(bytes);
    if detected != Some(declared) {
        return Err(ImagingError::TypeMismatch { declared, detected });
    }
    let largest = validate_sizes(sizes, limits)?;

    // Last line of defence: a decoder bug must become an error, never a crashed Lambda.
    catch_unwind(AssertUnwindSafe(|| {
        let source = decode::decode(bytes, declared, largest, limits)?;
        build_thumbnails(source, sizes)
    }))
    .unwrap_or_else(|_| Err(ImagingError::Corrupt("decoder panicked".into())))
}

fn validate_sizes(sizes: &[u32], limits: &Limits) -> Result<u32, ImagingError> {
    if let Some(&bad) = sizes.iter().find(|&&s| s == 0 || s > limits.max_edge) {
        return Err(ImagingError::InvalidSize(bad));
    }
    sizes
        .iter()
        .copied()
        .max()
        .ok_or(ImagingError::InvalidSize(0))
}

/// Output dimensions for a longest edge of `max_edge` (never upscaling).
pub(crate) fn fit(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_edge {
        return (width, height);
    }
    let scale = |v: u32| {
        let scaled =
            (u64::from(v) * u64::from(max_edge) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(max_edge).clamp(1, max_edge)
    };
    if width >= height {
        (max_edge, scale(height))
    } else {
        (scale(width), max_edge)
    }
}

fn build_thumbnails(
    source: decode::Decoded,
    sizes: &[u32],
) -> Result<Vec<Thumbnail>, ImagingError> {
    let decode::Decoded {
        raster: decoded,
        orig_width,
        orig_height,
        orientation,
    } = source;
    // Largest first, so each smaller thumbnail can start from an already reduced image.
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));

    let mut resizer = raster::Resizer::new();
    let mut made: Vec<(u32, Raster)> = Vec::with_capacity(sizes.len());
    let mut out: Vec<Option<Thumbnail>> = vec![None; sizes.len()];
    for i in order {
        let size = sizes[i];
        if let Some((_, prev)) = made.iter().find(|(s, _)| *s == size) {
            out[i] = Some(finish(prev, size, orientation)?);
            continue;
        }
        // Target dimensions are computed from the original (declared) size, so a DCT-scaled
        // decode gives exactly the same output dimensions as a full decode would.
        let (tw, th) = fit(orig_width, orig_height, size);
        let base = made
            .iter()
            .rev()
            .map(|(_, r)| r)
            .find(|r| r.width >= tw && r.height >= th)
            .unwrap_or(&decoded);
        let resized = resizer.resize(base, tw, th)?;
        out[i] = Some(finish(&resized, size, orientation)?);
        made.push((size, resized));
    }
    Ok(out.into_iter().flatten().collect())
}

fn finish(r: &Raster, max_edge: u32, orientation: u8) -> Result<Thumbnail, ImagingError> {
    let flat = r.flattened();
    let oriented = flat.as_ref().unwrap_or(r).oriented(orientation);
    let img = oriented.as_ref().unwrap_or(flat.as_ref().unwrap_or(r));
    let jpeg = img.encode_jpeg(OUTPUT_QUALITY)?;
    Ok(Thumbnail {
        max_edge,
        width: img.width,
        height: img.height,
        jpeg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_never_upscales_and_keeps_aspect() {
        assert_eq!(fit(4000, 3000, 1024), (1024, 768));
        assert_eq!(fit(3000, 4000, 256), (192, 256));
        assert_eq!(fit(100, 50, 256), (100, 50));
        assert_eq!(fit(10000, 1, 256), (256, 1));
        assert_eq!(fit(1024, 1024, 1024), (1024, 1024));
    }

    #[test]
    fn content_type_aliases() {
        assert_eq!(
            normalize_content_type("IMAGE/JPEG; charset=binary"),
            Some(JPEG)
        );
        assert_eq!(normalize_content_type("image/jpg"), Some(JPEG));
        assert_eq!(normalize_content_type(" image/png "), Some(PNG));
        assert_eq!(normalize_content_type("image/gif"), None);
    }

    #[test]
    fn sniff_magic() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(JPEG));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(PNG));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(WEBP));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }
}
