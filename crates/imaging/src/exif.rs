//! Minimal, bounds-checked JPEG marker walk: frame size (SOF) and EXIF orientation (APP1),
//! read before any decoder allocates anything.

use crate::ImagingError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegHeader {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub precision: u8,
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
}

fn corrupt(msg: &str) -> ImagingError {
    ImagingError::Corrupt(msg.to_owned())
}

/// Walks the markers from SOI up to the first SOS.
pub(crate) fn scan_jpeg(bytes: &[u8]) -> Result<JpegHeader, ImagingError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt("missing SOI"));
    }
    let mut pos = 2usize;
    let mut frame: Option<(u32, u32, u8, u8)> = None;
    let mut orientation: Option<u8> = None;
    loop {
        // Find the next marker (0xFF followed by a non-0xFF byte; 0xFF fill bytes allowed).
        if bytes.get(pos) != Some(&0xFF) {
            return Err(corrupt("expected marker"));
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(|| corrupt("truncated header"))?;
        pos += 1;
        match marker {
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 | 0xD9 | 0x00 => return Err(corrupt("unexpected marker before scan")),
            _ => {}
        }
        let len_bytes = bytes
            .get(pos..pos + 2)
            .ok_or_else(|| corrupt("truncated header"))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(corrupt("bad segment length"));
        }
        let segment = bytes
            .get(pos + 2..pos + len)
            .ok_or_else(|| corrupt("truncated header"))?;
        pos += len;
        match marker {
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if segment.len() < 6 {
                    return Err(corrupt("short SOF"));
                }
                if matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF) {
                    return Err(ImagingError::UnsupportedFeature("lossless JPEG".into()));
                }
                if matches!(marker, 0xC9..=0xCB | 0xCD..=0xCF) {
                    return Err(ImagingError::UnsupportedFeature(
                        "arithmetic-coded JPEG".into(),
                    ));
                }
                let precision = segment[0];
                let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
                let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
                let components = segment[5];
                if frame.is_some() {
                    return Err(corrupt("multiple frames"));
                }
                frame = Some((width, height, components, precision));
            }
            0xE1 if orientation.is_none() => {
                if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                    orientation = Some(exif_orientation(tiff).unwrap_or(1));
                }
            }
            0xDA => break,
            _ => {}
        }
    }
    let (width, height, components, precision) = frame.ok_or_else(|| corrupt("no frame header"))?;
    if width == 0 || height == 0 {
        return Err(corrupt("zero dimension"));
    }
    Ok(JpegHeader {
        width,
        height,
        components,
        precision,
        orientation: orientation.unwrap_or(1),
    })
}

/// Reads tag 0x0112 (Orientation) from IFD0 of a TIFF/EXIF block.
pub(crate) fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let big_endian = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |off: usize| -> Option<u16> {
        let b = tiff.get(off..off.checked_add(2)?)?;
        Some(if big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |off: usize| -> Option<u32> {
        let b = tiff.get(off..off.checked_add(4)?)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? == 0x0112 {
            // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
            if u16_at(entry + 2)? != 3 {
                return None;
            }
            let v = u16_at(entry + 8)?;
            return u8::try_from(v).ok().filter(|v| (1..=8).contains(v));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiff(big_endian: bool, orientation: u16) -> Vec<u8> {
        let mut t = Vec::new();
        let w16 = |t: &mut Vec<u8>, v: u16| {
            t.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        let w32 = |t: &mut Vec<u8>, v: u32| {
            t.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        t.extend_from_slice(if big_endian { b"MM" } else { b"II" });
        w16(&mut t, 42);
        w32(&mut t, 8);
        w16(&mut t, 1);
        w16(&mut t, 0x0112);
        w16(&mut t, 3);
        w32(&mut t, 1);
        w16(&mut t, orientation);
        w16(&mut t, 0);
        w32(&mut t, 0);
        t
    }

    #[test]
    fn orientation_both_byte_orders() {
        for o in 1..=8u16 {
            assert_eq!(exif_orientation(&tiff(true, o)), Some(o as u8));
            assert_eq!(exif_orientation(&tiff(false, o)), Some(o as u8));
        }
        assert_eq!(exif_orientation(&tiff(true, 9)), None);
        assert_eq!(exif_orientation(b"MM\0*\xff\xff\xff\xff"), None);
        assert_eq!(exif_orientation(b""), None);
    }

    #[test]
    fn every_truncation_of_a_tiff_is_safe() {
        let t = tiff(false, 6);
        for n in 0..t.len() {
            let _ = exif_orientation(&t[..n]);
        }
    }
}
