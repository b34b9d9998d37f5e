//! Deterministic test/benchmark inputs (shared by the tests, the bench and the example via
//! `#[path]`). Nothing here is part of the library.
#![allow(dead_code)]

use std::io::Cursor;

use image::{ImageEncoder, Rgb, RgbImage, RgbaImage};

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() >> 32) as u32 % n.max(1)
    }
}

/// A photo-like synthetic image: smooth gradients, soft shapes, fine texture and sensor-like
/// noise, so that it compresses roughly like a photograph.
pub fn photo_like(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let (wf, hf) = (width as f32, height as f32);
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / wf, y as f32 / hf);
        let wave = ((u * 9.0).sin() * (v * 7.0).cos()) * 30.0;
        Rgb([
            (60.0 + 140.0 * u + wave).clamp(0.0, 255.0) as u8,
            (90.0 + 100.0 * v - wave * 0.5).clamp(0.0, 255.0) as u8,
            (170.0 - 90.0 * u * v + wave * 0.3).clamp(0.0, 255.0) as u8,
        ])
    });
    // Shapes: discs and rectangles with soft shading.
    for i in 0..40 {
        let cx = rng.below(width) as i64;
        let cy = rng.below(height) as i64;
        let r = (rng.below(width / 6 + 1) + width / 40 + 1) as i64;
        let color = [
            rng.below(256) as f32,
            rng.below(256) as f32,
            rng.below(256) as f32,
        ];
        let disc = i % 2 == 0;
        let (x0, x1) = ((cx - r).max(0), (cx + r).min(width as i64 - 1));
        let (y0, y1) = ((cy - r).max(0), (cy + r).min(height as i64 - 1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (dx, dy) = ((x - cx) as f32, (y - cy) as f32);
                let d = (dx * dx + dy * dy).sqrt() / r as f32;
                if disc && d > 1.0 {
                    continue;
                }
                let shade = 1.0 - 0.35 * d.min(1.0);
                let p = img.get_pixel_mut(x as u32, y as u32);
                for (v, col) in p.0.iter_mut().zip(color) {
                    *v = ((*v as f32 * 0.3) + col * shade * 0.7) as u8;
                }
            }
        }
    }
    // Texture + noise.
    for (x, y, p) in img.enumerate_pixels_mut() {
        let n = rng.next_u64();
        let texture = (((x / 3) ^ (y / 3)) & 3) as i16 - 1;
        for c in 0..3 {
            let noise = ((n >> (c * 8)) & 0x0F) as i16 - 8;
            p.0[c] = (p.0[c] as i16 + noise + texture).clamp(0, 255) as u8;
        }
    }
    img
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encode jpeg");
    out
}

pub fn encode_png_rgb(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode png");
    out
}

pub fn encode_png_rgba(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .expect("encode png");
    out
}

pub fn encode_webp_rgb(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode webp");
    out.into_inner()
}

/// Inserts an APP1 "Exif" segment carrying only IFD0/Orientation right after SOI.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16, big_endian: bool) -> Vec<u8> {
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut tiff = Vec::new();
    tiff.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    tiff.extend_from_slice(&w16(42));
    tiff.extend_from_slice(&w32(8)); // IFD0 offset
    tiff.extend_from_slice(&w16(1)); // one entry
    tiff.extend_from_slice(&w16(0x0112)); // Orientation
    tiff.extend_from_slice(&w16(3)); // SHORT
    tiff.extend_from_slice(&w32(1)); // count
    tiff.extend_from_slice(&w16(orientation));
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&w32(0)); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let len = u16::try_from(payload.len() + 2).expect("small segment");
    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}
