//! Removes metadata from residents' photos before they are stored: GPS
//! position, camera serial numbers, owner and author names, comments, dates,
//! thumbnails and the like (EXIF, XMP, IPTC, text chunks). The pixels are
//! never decoded or re-encoded: the container is walked and only the parts a
//! viewer needs to show the image as it was are copied.
//!
//! - JPEG: the marker segments are walked to the end of the image (EOI).
//!   Kept: the frame, tables and scans; APP0 JFIF (without its thumbnail);
//!   APP2 ICC_PROFILE (colours); APP14 Adobe (colour transform). Dropped: every
//!   other APPn (APP1 Exif and XMP, APP2 MPF, APP13 Photoshop/IPTC, ...), COM
//!   comments, and whatever follows EOI (phones append further images there,
//!   each with its own EXIF).
//! - PNG: the chunks are walked to IEND with their CRCs checked. Kept: every
//!   critical chunk and the ancillary chunks that affect how the image looks
//!   ([`PNG_KEEP`]). Dropped: `eXIf`, `tEXt`, `zTXt`, `iTXt`, `tIME` and every
//!   other ancillary chunk (private ones such as C2PA's `caBX` too), and
//!   whatever follows IEND.
//! - WebP: the RIFF chunks are walked. Kept: the image, alpha, animation and
//!   ICC chunks. Dropped: `EXIF`, `XMP ` and unknown chunks; the RIFF size
//!   and the `VP8X` EXIF/XMP flags are fixed to match. A simple (`VP8 ` or
//!   `VP8L` only) file passes unchanged.
//!
//! Orientation: phones store the photo as the sensor saw it and say in EXIF
//! how to turn it (tag 0x0112). When the original says anything but "upright"
//! (1), a minimal EXIF with that one tag is written where the original EXIF
//! was, so the photo is still shown the right way up. Unreadable EXIF is
//! dropped as if it said nothing.
//!
//! A file whose structure is broken (truncated, lengths past the end, bad
//! checksums, missing end marker) is refused with [`Malformed`].

/// Why a photo could not be walked: a short English reason for logs and
/// the API's English message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

type Result<T> = std::result::Result<T, Malformed>;

/// The photo without its metadata; refuses data that is not a well-formed
/// JPEG, PNG or WebP container.
pub fn strip_metadata(data: &[u8]) -> Result<Vec<u8>> {
    match crate::photos::sniff(data) {
        Some("image/jpeg") => jpeg(data),
        Some("image/png") => png(data),
        Some("image/webp") => webp(data),
        _ => Err(Malformed("not a JPEG, PNG or WebP image")),
    }
}

/// The EXIF orientation (1–8) in a TIFF structure (the EXIF payload), if
/// IFD0 has one that is readable.
pub fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let be = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |p: usize| -> Option<u16> {
        let b = tiff.get(p..p.checked_add(2)?)?;
        Some(if be {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |p: usize| -> Option<u32> {
        let b = tiff.get(p..p.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    for k in 0..entries {
        let e = ifd.checked_add(2 + 12 * k)?;
        if u16_at(e)? == 0x0112 {
            // SHORT, one value, stored in the first two bytes of the value field
            if u16_at(e + 2)? != 3 || u32_at(e + 4)? != 1 {
                return None;
            }
            return u16_at(e + 8).filter(|o| (1..=8).contains(o));
        }
    }
    None
}

/// A TIFF structure (big-endian) whose IFD0 holds only the orientation.
pub fn minimal_exif(orientation: u16) -> Vec<u8> {
    let mut t = Vec::with_capacity(26);
    t.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at 8
    t.extend_from_slice(&1u16.to_be_bytes()); // one entry
    t.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    t.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    t.extend_from_slice(&1u32.to_be_bytes()); // count 1
    t.extend_from_slice(&orientation.to_be_bytes());
    t.extend_from_slice(&[0, 0]); // value field padding
    t.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    t
}

/// The orientation worth keeping: readable and not "upright".
fn turned(tiff: &[u8]) -> Option<u16> {
    exif_orientation(tiff).filter(|o| *o != 1)
}

// ---------------------------------------------------------------- JPEG

const EXIF_ID: &[u8] = b"Exif\0\0";

/// Whether a JPEG marker starts a frame (SOF0–SOF15 but DHT, JPG, DAC).
fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

fn jpeg(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    let mut frame = false;
    let mut scanned = false;
    let mut exif_seen = false;
    loop {
        if data.get(i) != Some(&0xFF) {
            return Err(if i >= data.len() {
                Malformed("JPEG: truncated (no end of image)")
            } else {
                Malformed("JPEG: expected a marker")
            });
        }
        // fill bytes (0xFF) may precede a marker
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let m = *data
            .get(i)
            .ok_or(Malformed("JPEG: truncated (no end of image)"))?;
        i += 1;
        match m {
            0xD9 if scanned => {
                // end of image; anything after it is dropped
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            0xD9 => return Err(Malformed("JPEG: end of image before any scan")),
            0x00 | 0xD8 => return Err(Malformed("JPEG: unexpected marker")),
            // standalone markers: no length
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, m]);
                continue;
            }
            _ => {}
        }
        let len = data
            .get(i..i + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or(Malformed("JPEG: truncated segment"))?;
        if len < 2 {
            return Err(Malformed("JPEG: segment length too small"));
        }
        let end = i + len;
        let payload = data
            .get(i + 2..end)
            .ok_or(Malformed("JPEG: truncated segment"))?;
        let segment = &data[i..end]; // length and payload
        i = end;
        let keep = |out: &mut Vec<u8>| {
            out.extend_from_slice(&[0xFF, m]);
            out.extend_from_slice(segment);
        };
        match m {
            // APP0 JFIF, without the thumbnail it may carry
            0xE0 if payload.starts_with(b"JFIF\0") && payload.len() >= 14 => {
                out.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
                out.extend_from_slice(&payload[..12]);
                out.extend_from_slice(&[0, 0]);
            }
            // APP1 Exif: only the orientation survives, where it was
            0xE1 if payload.starts_with(EXIF_ID) && !exif_seen => {
                exif_seen = true;
                if let Some(o) = turned(&payload[EXIF_ID.len()..]) {
                    let tiff = minimal_exif(o);
                    out.extend_from_slice(&[0xFF, 0xE1]);
                    let n = 2 + EXIF_ID.len() + tiff.len();
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                    out.extend_from_slice(EXIF_ID);
                    out.extend_from_slice(&tiff);
                }
            }
            0xE2 if payload.starts_with(b"ICC_PROFILE\0") => keep(&mut out),
            0xEE if payload.starts_with(b"Adobe") => keep(&mut out),
            // every other application segment, and comments
            0xE0..=0xEF | 0xFE => {}
            0xDA => {
                if !frame {
                    return Err(Malformed("JPEG: scan before the frame header"));
                }
                keep(&mut out);
                // entropy-coded data runs to the next marker that is not a
                // stuffed 0xFF00, a restart marker or a fill byte
                let start = i;
                loop {
                    let ff = data[i..]
                        .iter()
                        .position(|b| *b == 0xFF)
                        .ok_or(Malformed("JPEG: truncated scan (no end of image)"))?;
                    i += ff;
                    match data.get(i + 1) {
                        None => return Err(Malformed("JPEG: truncated scan (no end of image)")),
                        Some(0x00 | 0xD0..=0xD7) => i += 2,
                        Some(0xFF) => i += 1,
                        Some(_) => break,
                    }
                }
                out.extend_from_slice(&data[start..i]);
                scanned = true;
            }
            m => {
                if is_sof(m) {
                    frame = true;
                }
                keep(&mut out);
            }
        }
    }
}

// ---------------------------------------------------------------- PNG

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Ancillary PNG chunks that affect how the image looks, kept; every other
/// ancillary chunk is dropped. Critical chunks are always kept.
pub const PNG_KEEP: [&[u8; 4]; 16] = [
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"mDCv", b"cLLi",
    b"sBIT", b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT",
];

/// One PNG chunk: length, type, data, CRC.
fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(body.len() + 12);
    c.extend_from_slice(&(body.len() as u32).to_be_bytes());
    c.extend_from_slice(kind);
    c.extend_from_slice(body);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(body);
    c.extend_from_slice(&h.finalize().to_be_bytes());
    c
}

fn png(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut i = PNG_SIGNATURE.len();
    let mut exif_seen = false;
    loop {
        let head = data
            .get(i..i + 8)
            .ok_or(Malformed("PNG: truncated (no IEND chunk)"))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if len > 0x7FFF_FFFF {
            return Err(Malformed("PNG: chunk length too large"));
        }
        let kind = [head[4], head[5], head[6], head[7]];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(Malformed("PNG: invalid chunk type"));
        }
        if i == PNG_SIGNATURE.len() && &kind != b"IHDR" {
            return Err(Malformed("PNG: the first chunk is not IHDR"));
        }
        let end = (i + 12)
            .checked_add(len as usize)
            .filter(|e| *e <= data.len())
            .ok_or(Malformed("PNG: truncated chunk"))?;
        let chunk = &data[i..end];
        let crc = u32::from_be_bytes([data[end - 4], data[end - 3], data[end - 2], data[end - 1]]);
        if crc32fast::hash(&chunk[4..chunk.len() - 4]) != crc {
            return Err(Malformed("PNG: chunk checksum mismatch"));
        }
        let body = &chunk[8..chunk.len() - 4];
        i = end;
        match &kind {
            b"IEND" => {
                // anything after IEND is dropped
                out.extend_from_slice(chunk);
                return Ok(out);
            }
            b"eXIf" if !exif_seen => {
                exif_seen = true;
                if let Some(o) = turned(body) {
                    out.extend_from_slice(&png_chunk(b"eXIf", &minimal_exif(o)));
                }
            }
            k if k[0].is_ascii_uppercase() || PNG_KEEP.contains(&k) => out.extend_from_slice(chunk),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------- WebP

/// WebP chunks kept (image, alpha, animation, colour profile); `EXIF` is
/// replaced by the orientation alone when there is one worth keeping.
const WEBP_KEEP: [&[u8; 4]; 7] = [
    b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
/// `VP8X` flags: EXIF and XMP present.
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

fn webp_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(kind);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

fn webp(data: &[u8]) -> Result<Vec<u8>> {
    let riff = data
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(Malformed("WebP: truncated header"))?;
    if riff < 4 {
        return Err(Malformed("WebP: RIFF size too small"));
    }
    // anything after the RIFF data is dropped
    let file = data
        .get(..riff.saturating_add(8))
        .ok_or(Malformed("WebP: truncated (shorter than its RIFF size)"))?;
    let mut chunks: Vec<(&[u8; 4], &[u8])> = Vec::new();
    let mut i = 12;
    while i < file.len() {
        let head = file
            .get(i..i + 8)
            .ok_or(Malformed("WebP: truncated chunk header"))?;
        let kind: &[u8; 4] = head[..4]
            .try_into()
            .map_err(|_| Malformed("WebP: truncated chunk header"))?;
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body = file
            .get(i + 8..(i + 8).saturating_add(len))
            .ok_or(Malformed("WebP: truncated chunk"))?;
        let padded = (i + 8 + len).saturating_add(len % 2);
        if padded > file.len() {
            return Err(Malformed("WebP: truncated chunk"));
        }
        i = padded;
        chunks.push((kind, body));
    }
    let first = chunks.first().ok_or(Malformed("WebP: no image chunk"))?.0;
    if !matches!(first, b"VP8 " | b"VP8L" | b"VP8X") {
        return Err(Malformed("WebP: the first chunk is not VP8, VP8L or VP8X"));
    }
    let extended = first == b"VP8X";
    if extended && chunks[0].1.len() < 10 {
        return Err(Malformed("WebP: VP8X chunk too short"));
    }
    let mut out = Vec::with_capacity(file.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut exif_seen = false;
    let mut exif_kept = false;
    let mut flags_at = None;
    for (kind, body) in chunks {
        match kind {
            b"VP8X" if extended && flags_at.is_none() => {
                flags_at = Some(out.len() + 8);
                webp_chunk(&mut out, kind, body);
            }
            b"EXIF" if extended && !exif_seen => {
                exif_seen = true;
                // the payload is TIFF, though some writers prefix "Exif\0\0"
                let tiff = body.strip_prefix(EXIF_ID).unwrap_or(body);
                if let Some(o) = turned(tiff) {
                    webp_chunk(&mut out, b"EXIF", &minimal_exif(o));
                    exif_kept = true;
                }
            }
            k if k != b"VP8X" && WEBP_KEEP.contains(&k) => webp_chunk(&mut out, kind, body),
            _ => {}
        }
    }
    if let Some(at) = flags_at {
        out[at] &= !(VP8X_EXIF | VP8X_XMP);
        if exif_kept {
            out[at] |= VP8X_EXIF;
        }
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| Malformed("WebP: too large"))?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests;

/// Longest side a photo may declare, in pixels.
pub const MAX_SIDE: u32 = 20_000;
/// Most pixels a photo may declare (100 megapixels).
pub const MAX_PIXELS: u64 = 100_000_000;

/// The (width, height) the photo's header declares: JPEG's first SOF, PNG's
/// IHDR, WebP's VP8X canvas or the VP8 / VP8L frame. `Err` when none is readable.
pub fn dimensions(data: &[u8]) -> Result<(u32, u32)> {
    let be16 = |b: &[u8]| u32::from(u16::from_be_bytes([b[0], b[1]]));
    let le24 = |b: &[u8]| u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    match crate::photos::sniff(data) {
        Some("image/jpeg") => {
            let mut i = 2;
            while i + 4 <= data.len() {
                if data[i] != 0xFF {
                    return Err(Malformed("JPEG: no frame header"));
                }
                let m = data[i + 1];
                if m == 0xFF {
                    i += 1;
                    continue;
                }
                if m == 0xD8 || (0xD0..=0xD7).contains(&m) || m == 0x01 {
                    i += 2;
                    continue;
                }
                let len = be16(&data[i + 2..]) as usize;
                if is_sof(m) {
                    let b = data
                        .get(i + 4..i + 9)
                        .ok_or(Malformed("JPEG: frame header too short"))?;
                    return Ok((be16(&b[3..]), be16(&b[1..])));
                }
                if m == 0xDA || m == 0xD9 || len < 2 {
                    break;
                }
                i += 2 + len;
            }
            Err(Malformed("JPEG: no frame header"))
        }
        Some("image/png") => {
            let b = data
                .get(16..24)
                .filter(|_| &data[12..16] == b"IHDR")
                .ok_or(Malformed("PNG: the first chunk is not IHDR"))?;
            let w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let h = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            Ok((w, h))
        }
        Some("image/webp") => {
            let kind = data.get(12..16).ok_or(Malformed("WebP: no chunk"))?;
            let body = &data[20.min(data.len())..];
            let short = Malformed("WebP: frame header too short");
            match kind {
                b"VP8X" => {
                    let b = body.get(4..10).ok_or(short)?;
                    Ok((le24(b) + 1, le24(&b[3..]) + 1))
                }
                b"VP8L" => {
                    let b = body.get(0..5).ok_or(short)?;
                    if b[0] != 0x2F {
                        return Err(Malformed("WebP: VP8L signature"));
                    }
                    let bits = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
                    Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
                }
                b"VP8 " => {
                    let b = body.get(0..10).ok_or(short)?;
                    if b[3..6] != [0x9D, 0x01, 0x2A] {
                        return Err(Malformed("WebP: VP8 start code"));
                    }
                    let w = u32::from(u16::from_le_bytes([b[6], b[7]]) & 0x3FFF);
                    let h = u32::from(u16::from_le_bytes([b[8], b[9]]) & 0x3FFF);
                    Ok((w, h))
                }
                _ => Err(Malformed("WebP: the first chunk is not VP8, VP8L or VP8X")),
            }
        }
        _ => Err(Malformed("not a JPEG, PNG or WebP image")),
    }
}

/// Whether declared dimensions are acceptable: no side zero or past
/// [`MAX_SIDE`], at most [`MAX_PIXELS`].
pub fn dimensions_ok((w, h): (u32, u32)) -> bool {
    w > 0 && h > 0 && w <= MAX_SIDE && h <= MAX_SIDE && u64::from(w) * u64::from(h) <= MAX_PIXELS
}

#[cfg(test)]
mod dimension_tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        v.extend_from_slice(&[0xFF, 0xC2, 0, 11, 8]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[1, 1, 0x11, 0, 0xFF, 0xD9]);
        v
    }

    fn webp(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WEBP".to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn declared_dimensions_of_each_format() {
        assert_eq!(dimensions(&png(640, 480)).unwrap(), (640, 480));
        assert_eq!(
            dimensions(&png(1 << 31, 1 << 31)).unwrap(),
            (1 << 31, 1 << 31)
        );
        assert_eq!(dimensions(&jpeg(4000, 3000)).unwrap(), (4000, 3000));
        assert_eq!(dimensions(&jpeg(0, 3000)).unwrap(), (0, 3000));
        // VP8X: canvas 24-bit minus one
        let mut x = vec![0u8; 10];
        x[4..7].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
        x[7..10].copy_from_slice(&[99, 0, 0]);
        assert_eq!(dimensions(&webp(b"VP8X", &x)).unwrap(), (1 << 24, 100));
        // VP8L: 14 bits each, minus one
        let bits: u32 = (16383) | (16383 << 14);
        let mut l = vec![0x2F];
        l.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(dimensions(&webp(b"VP8L", &l)).unwrap(), (16384, 16384));
        // VP8: key frame, start code, 14-bit sizes
        let mut k = vec![0, 0, 0, 0x9D, 0x01, 0x2A];
        k.extend_from_slice(&16383u16.to_le_bytes());
        k.extend_from_slice(&0u16.to_le_bytes());
        assert_eq!(dimensions(&webp(b"VP8 ", &k)).unwrap(), (16383, 0));
    }

    #[test]
    fn the_bounds() {
        assert!(dimensions_ok((4000, 3000)));
        assert!(dimensions_ok((20_000, 5_000)));
        assert!(!dimensions_ok((0, 10)));
        assert!(!dimensions_ok((10, 0)));
        assert!(!dimensions_ok((20_001, 10)));
        assert!(!dimensions_ok((16_384, 16_384)), "268 megapixels");
        assert!(!dimensions_ok((1 << 31, 1 << 31)));
    }
}
