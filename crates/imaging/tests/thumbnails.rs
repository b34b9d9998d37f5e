mod support;

use image::{GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};
use imaging::{ImagingError, Limits, Thumbnail, make_thumbnails, sniff};

const SIZES: [u32; 2] = [1024, 256];

fn thumbs(bytes: &[u8], ct: &str, sizes: &[u32]) -> Vec<Thumbnail> {
    make_thumbnails(bytes, ct, sizes, &Limits::default()).expect("thumbnails")
}

fn err(bytes: &[u8], ct: &str) -> ImagingError {
    make_thumbnails(bytes, ct, &SIZES, &Limits::default()).expect_err("must be refused")
}

/// Decodes our output with an independent decoder and checks the advertised size.
fn decode_output(t: &Thumbnail) -> image::DynamicImage {
    assert_eq!(sniff(&t.jpeg), Some("image/jpeg"));
    let img = image::load_from_memory_with_format(&t.jpeg, image::ImageFormat::Jpeg)
        .expect("output decodes as JPEG");
    assert_eq!((img.width(), img.height()), (t.width, t.height));
    img
}

fn dims(ts: &[Thumbnail]) -> Vec<(u32, u32, u32)> {
    ts.iter().map(|t| (t.max_edge, t.width, t.height)).collect()
}

#[test]
fn jpeg_landscape_dimensions() {
    let jpeg = support::encode_jpeg(&support::photo_like(1600, 1200, 1), 90);
    let ts = thumbs(&jpeg, "image/jpeg", &SIZES);
    assert_eq!(dims(&ts), [(1024, 1024, 768), (256, 256, 192)]);
    ts.iter().for_each(|t| {
        decode_output(t);
    });
}

#[test]
fn jpeg_portrait_dimensions_and_order_of_sizes_is_kept() {
    let jpeg = support::encode_jpeg(&support::photo_like(900, 2000, 2), 85);
    let ts = thumbs(&jpeg, "image/jpeg", &[256, 1024]);
    assert_eq!(dims(&ts), [(256, 115, 256), (1024, 461, 1024)]);
    ts.iter().for_each(|t| {
        decode_output(t);
    });
}

#[test]
fn big_jpeg_uses_shrink_on_load_and_keeps_exact_dimensions() {
    // 2400x1800 decodes at 1/2 (1200x900) for 1024, and at 1/8 (300x225) when only 256 is asked.
    let jpeg = support::encode_jpeg(&support::photo_like(2400, 1800, 3), 90);
    assert_eq!(
        dims(&thumbs(&jpeg, "image/jpeg", &SIZES)),
        [(1024, 1024, 768), (256, 256, 192)]
    );
    assert_eq!(
        dims(&thumbs(&jpeg, "image/jpeg", &[256])),
        [(256, 256, 192)]
    );
    // Odd sizes that do not divide by 8.
    let jpeg = support::encode_jpeg(&support::photo_like(2501, 1333, 4), 90);
    assert_eq!(
        dims(&thumbs(&jpeg, "image/jpeg", &SIZES)),
        [(1024, 1024, 546), (256, 256, 136)]
    );
}

#[test]
fn small_source_is_never_upscaled() {
    let jpeg = support::encode_jpeg(&support::photo_like(300, 200, 5), 90);
    assert_eq!(
        dims(&thumbs(&jpeg, "image/jpeg", &SIZES)),
        [(1024, 300, 200), (256, 256, 171)]
    );
    let png = support::encode_png_rgb(&support::photo_like(120, 80, 6));
    assert_eq!(
        dims(&thumbs(&png, "image/png", &SIZES)),
        [(1024, 120, 80), (256, 120, 80)]
    );
}

#[test]
fn gray_jpeg_works() {
    let gray = image::DynamicImage::ImageRgb8(support::photo_like(640, 480, 7)).into_luma8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&gray)
        .unwrap();
    let ts = thumbs(&jpeg, "image/jpeg", &SIZES);
    assert_eq!(dims(&ts), [(1024, 640, 480), (256, 256, 192)]);
    decode_output(&ts[1]);
}

/// Left half red, right half blue.
fn red_blue(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

fn is_red(p: Rgba<u8>) -> bool {
    p[0] > 200 && p[2] < 60
}
fn is_blue(p: Rgba<u8>) -> bool {
    p[2] > 200 && p[0] < 60
}

#[test]
fn exif_orientation_6_rotates_clockwise() {
    let plain = support::encode_jpeg(&red_blue(400, 200), 90);
    for big_endian in [true, false] {
        let jpeg = support::with_exif_orientation(&plain, 6, big_endian);
        let ts = thumbs(&jpeg, "image/jpeg", &SIZES);
        // Width and height swap: a 400x200 landscape becomes a 200x400 portrait.
        assert_eq!(dims(&ts), [(1024, 200, 400), (256, 128, 256)]);
        for t in &ts {
            let img = decode_output(t);
            // 90° clockwise: the left (red) half ends up on top, the right (blue) at the bottom.
            assert!(
                is_red(img.get_pixel(t.width / 2, t.height / 8)),
                "top should be red"
            );
            assert!(
                is_blue(img.get_pixel(t.width / 2, t.height * 7 / 8)),
                "bottom should be blue"
            );
        }
    }
}

#[test]
fn exif_orientations_3_and_8() {
    let plain = support::encode_jpeg(&red_blue(400, 200), 90);
    // 3: rotate 180° -> red on the right.
    let t = &thumbs(
        &support::with_exif_orientation(&plain, 3, false),
        "image/jpeg",
        &[256],
    )[0];
    assert_eq!((t.width, t.height), (256, 128));
    let img = decode_output(t);
    assert!(is_blue(img.get_pixel(20, 64)) && is_red(img.get_pixel(236, 64)));
    // 8: rotate 90° counter-clockwise -> red at the bottom.
    let t = &thumbs(
        &support::with_exif_orientation(&plain, 8, true),
        "image/jpeg",
        &[256],
    )[0];
    assert_eq!((t.width, t.height), (128, 256));
    let img = decode_output(t);
    assert!(is_blue(img.get_pixel(64, 20)) && is_red(img.get_pixel(64, 236)));
    // Invalid orientation values are ignored.
    let t = &thumbs(
        &support::with_exif_orientation(&plain, 42, true),
        "image/jpeg",
        &[256],
    )[0];
    assert_eq!((t.width, t.height), (256, 128));
}

#[test]
fn alpha_png_is_flattened_onto_white() {
    // Fully transparent left half (with junk colour), opaque green right half.
    let img = RgbaImage::from_fn(600, 300, |x, _| {
        if x < 300 {
            Rgba([12, 34, 56, 0])
        } else {
            Rgba([0, 160, 0, 255])
        }
    });
    let png = support::encode_png_rgba(&img);
    let ts = thumbs(&png, "image/png", &SIZES);
    assert_eq!(dims(&ts), [(1024, 600, 300), (256, 256, 128)]);
    for t in &ts {
        let out = decode_output(t);
        let left = out.get_pixel(t.width / 8, t.height / 2);
        let right = out.get_pixel(t.width * 7 / 8, t.height / 2);
        assert!(
            left.0[..3].iter().all(|&c| c > 245),
            "transparent -> white, got {left:?}"
        );
        assert!(
            right[1] > 130 && right[0] < 40 && right[2] < 40,
            "opaque green kept, got {right:?}"
        );
    }
}

#[test]
fn gray_and_interlaced_like_inputs_via_png_and_webp() {
    let gray = image::DynamicImage::ImageRgb8(support::photo_like(500, 900, 8)).into_luma8();
    let mut png = Vec::new();
    gray.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert_eq!(
        dims(&thumbs(&png, "image/png", &SIZES)),
        [(1024, 500, 900), (256, 142, 256)]
    );

    let webp = support::encode_webp_rgb(&support::photo_like(1500, 1000, 9));
    let ts = thumbs(&webp, "image/webp", &SIZES);
    assert_eq!(dims(&ts), [(1024, 1024, 683), (256, 256, 171)]);
    ts.iter().for_each(|t| {
        decode_output(t);
    });
}

#[test]
fn big_png_dimensions() {
    let png = support::encode_png_rgb(&support::photo_like(2000, 1500, 10));
    let ts = thumbs(&png, "image/png", &SIZES);
    assert_eq!(dims(&ts), [(1024, 1024, 768), (256, 256, 192)]);
    ts.iter().for_each(|t| {
        decode_output(t);
    });
}

/// A tiny valid-looking PNG whose IHDR declares `w x h` (CRC correct, no pixel data).
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn bombs_are_refused_from_the_header() {
    let e = err(&png_declaring(100_000, 100_000), "image/png");
    assert_eq!(e.reason(), "too_large", "{e}");
    // Edge limit alone.
    assert_eq!(
        err(&png_declaring(30_000, 10), "image/png").reason(),
        "too_large"
    );
    // A JPEG whose SOF declares 65000x65000 (pixel data is tiny).
    let mut jpeg = support::encode_jpeg(&support::photo_like(16, 16, 11), 90);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    assert_eq!(err(&jpeg, "image/jpeg").reason(), "too_large");
    // Custom limits.
    let small = support::encode_jpeg(&support::photo_like(400, 300, 12), 90);
    let limits = Limits {
        max_pixels: 100_000,
        max_edge: 20_000,
    };
    let e = make_thumbnails(&small, "image/jpeg", &SIZES, &limits).unwrap_err();
    assert!(
        matches!(
            e,
            ImagingError::TooLarge {
                width: 400,
                height: 300
            }
        ),
        "{e}"
    );
}

#[test]
fn type_checks() {
    let jpeg = support::encode_jpeg(&support::photo_like(64, 64, 13), 90);
    let png = support::encode_png_rgb(&support::photo_like(64, 64, 13));
    assert_eq!(err(&jpeg, "image/png").reason(), "type_mismatch");
    assert_eq!(err(&png, "image/jpeg").reason(), "type_mismatch");
    assert_eq!(err(&png, "image/webp").reason(), "type_mismatch");
    assert_eq!(err(b"GIF89a....", "image/jpeg").reason(), "type_mismatch");
    assert_eq!(err(b"", "image/png").reason(), "type_mismatch");
    assert_eq!(err(&jpeg, "image/gif").reason(), "unsupported_type");
    assert_eq!(
        err(&jpeg, "application/octet-stream").reason(),
        "unsupported_type"
    );
    // Aliases and parameters are accepted.
    assert_eq!(thumbs(&jpeg, "image/jpg", &[32]).len(), 1);
    assert_eq!(thumbs(&png, "Image/PNG; foo=bar", &[32]).len(), 1);
    assert_eq!(sniff(&jpeg), Some("image/jpeg"));
    assert_eq!(sniff(&png), Some("image/png"));
}

#[test]
fn invalid_sizes_are_refused() {
    let jpeg = support::encode_jpeg(&support::photo_like(64, 64, 14), 90);
    let l = Limits::default();
    for sizes in [&[][..], &[0], &[256, 0], &[30_000]] {
        let e = make_thumbnails(&jpeg, "image/jpeg", sizes, &l).unwrap_err();
        assert_eq!(e.reason(), "invalid_size");
    }
}

#[test]
fn corrupt_and_truncated_inputs_are_refused_without_panicking() {
    let jpeg = support::encode_jpeg(&support::photo_like(200, 150, 15), 90);
    let png = support::encode_png_rgb(&support::photo_like(200, 150, 15));
    let webp = support::encode_webp_rgb(&support::photo_like(200, 150, 15));
    for (bytes, ct) in [
        (&jpeg, "image/jpeg"),
        (&png, "image/png"),
        (&webp, "image/webp"),
    ] {
        // Every prefix length up to the first 2 KiB, then coarser steps.
        let cuts = (0..bytes.len().min(2048)).chain((2048..bytes.len()).step_by(97));
        for n in cuts {
            if let Err(e) = make_thumbnails(&bytes[..n], ct, &[256], &Limits::default()) {
                assert!(
                    matches!(
                        e.reason(),
                        "corrupt" | "type_mismatch" | "unsupported_feature"
                    ),
                    "{ct} cut at {n}: {e}"
                );
            }
            // A decoder may accept a truncated image (e.g. missing EOI); it must not panic.
        }
        // A clearly truncated body must be refused.
        let half = &bytes[..bytes.len() / 2];
        if ct != "image/jpeg" {
            assert!(
                make_thumbnails(half, ct, &[256], &Limits::default()).is_err(),
                "{ct}"
            );
        }
    }
}

#[test]
fn random_and_bitflipped_bytes_never_panic() {
    let jpeg = support::encode_jpeg(&support::photo_like(96, 64, 16), 90);
    let png = support::encode_png_rgb(&support::photo_like(96, 64, 16));
    let webp = support::encode_webp_rgb(&support::photo_like(96, 64, 16));
    let mut rng = support::Rng::new(0xC0FFEE);
    for ct in ["image/jpeg", "image/png", "image/webp"] {
        for _ in 0..300 {
            let len = rng.below(4096) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            // Give some of them the right magic so the decoders really run.
            let magic: &[u8] = match ct {
                "image/jpeg" => &[0xFF, 0xD8, 0xFF],
                "image/png" => b"\x89PNG\r\n\x1a\n",
                _ => b"RIFF\0\0\0\0WEBP",
            };
            if bytes.len() >= magic.len() && rng.below(2) == 0 {
                bytes[..magic.len()].copy_from_slice(magic);
            }
            let _ = make_thumbnails(&bytes, ct, &SIZES, &Limits::default());
        }
    }
    for (orig, ct) in [
        (&jpeg, "image/jpeg"),
        (&png, "image/png"),
        (&webp, "image/webp"),
    ] {
        for _ in 0..300 {
            let mut bytes = orig.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bytes.len() as u32) as usize;
                bytes[i] ^= 1 << rng.below(8);
            }
            let _ = make_thumbnails(&bytes, ct, &SIZES, &Limits::default());
        }
    }
}

#[test]
fn fixtures_are_small() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        assert!(len < 200 * 1024, "{:?} is {len} bytes", entry.path());
    }
}
