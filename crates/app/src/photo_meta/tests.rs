//! Real images are encoded with the `image` crate, metadata is spliced into
//! them as phones and editors write it, and the stripped result is decoded
//! again: same pixels, no metadata but the orientation.

use super::*;
use image::metadata::Orientation;
use image::{ExtendedColorType, ImageDecoder, ImageEncoder, RgbImage};
use rand::{Rng, SeedableRng};
use std::io::Cursor;

const SERIAL: &[u8] = b"SN-4417-0923-XQ";
const OWNER: &[u8] = b"Owner Li Xiaoming";
const ARTIST: &[u8] = b"Zhang San";
const MAKE: &[u8] = b"HUAWEI";
/// 31°14'12.34" N, 121°28'56.78" E
const LAT: [(u32, u32); 3] = [(31, 1), (14, 1), (1234, 100)];
const LON: [(u32, u32); 3] = [(121, 1), (28, 1), (5678, 100)];
const XMP: &[u8] = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:Description exif:GPSLatitude=\"31,14.2057N\" tiff:Artist=\"Zhang San\"/></x:xmpmeta>";

fn rationals(v: &[(u32, u32)]) -> Vec<u8> {
    v.iter()
        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()])
        .flatten()
        .collect()
}

/// What must not survive stripping.
fn secrets() -> Vec<Vec<u8>> {
    vec![
        SERIAL.to_vec(),
        OWNER.to_vec(),
        ARTIST.to_vec(),
        MAKE.to_vec(),
        rationals(&LAT),
        rationals(&LON),
        b"GPSLatitude".to_vec(),
        b"Photoshop 3.0".to_vec(),
        b"shot from my balcony".to_vec(),
    ]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn assert_clean(out: &[u8]) {
    for s in secrets() {
        assert!(
            !contains(out, &s),
            "{:?} survived",
            String::from_utf8_lossy(&s)
        );
    }
}

/// Appends an IFD (little-endian; values over 4 bytes right after it) and
/// returns where each entry's value field is.
fn put_ifd(t: &mut Vec<u8>, entries: &[(u16, u16, u32, Vec<u8>)]) -> Vec<usize> {
    let data_at = t.len() + 2 + entries.len() * 12 + 4;
    let mut extra = Vec::new();
    let mut fields = Vec::new();
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, data) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        fields.push(t.len());
        if data.len() <= 4 {
            let mut v = data.clone();
            v.resize(4, 0);
            t.extend_from_slice(&v);
        } else {
            t.extend_from_slice(&((data_at + extra.len()) as u32).to_le_bytes());
            extra.extend_from_slice(data);
            if extra.len() % 2 == 1 {
                extra.push(0);
            }
        }
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&extra);
    fields
}

fn ascii(s: &[u8]) -> (u32, Vec<u8>) {
    let mut v = s.to_vec();
    v.push(0);
    (v.len() as u32, v)
}

/// EXIF as a phone writes it (little-endian TIFF): IFD0 with make,
/// orientation, artist and pointers to an Exif IFD (owner, body serial) and
/// a GPS IFD (latitude and longitude).
fn phone_exif(orientation: u16) -> Vec<u8> {
    let mut t = b"II\x2a\0\x08\0\0\0".to_vec();
    let (mn, make) = ascii(MAKE);
    let (an, artist) = ascii(ARTIST);
    let f = put_ifd(
        &mut t,
        &[
            (0x010F, 2, mn, make),
            (0x0112, 3, 1, orientation.to_le_bytes().to_vec()),
            (0x013B, 2, an, artist),
            (0x8769, 4, 1, vec![0; 4]),
            (0x8825, 4, 1, vec![0; 4]),
        ],
    );
    let at = t.len() as u32;
    t[f[3]..f[3] + 4].copy_from_slice(&at.to_le_bytes());
    let (on, owner) = ascii(OWNER);
    let (sn, serial) = ascii(SERIAL);
    put_ifd(&mut t, &[(0xA430, 2, on, owner), (0xA431, 2, sn, serial)]);
    let at = t.len() as u32;
    t[f[4]..f[4] + 4].copy_from_slice(&at.to_le_bytes());
    put_ifd(
        &mut t,
        &[
            (0x0001, 2, 2, b"N\0".to_vec()),
            (0x0002, 5, 3, rationals(&LAT)),
            (0x0003, 2, 2, b"E\0".to_vec()),
            (0x0004, 5, 3, rationals(&LON)),
        ],
    );
    t
}

/// A 24×16 picture with distinct pixels.
fn picture() -> RgbImage {
    RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, ((x + y) * 5) as u8])
    })
}

fn encode_jpeg(p: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(p, p.width(), p.height(), ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn encode_png(p: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(p, p.width(), p.height(), ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn encode_webp(p: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(p, p.width(), p.height(), ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn decoded(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes)
        .expect("the stripped image decodes")
        .to_rgb8()
}

/// What a decoder finds: orientation, EXIF and XMP.
fn found(bytes: &[u8]) -> (Orientation, Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut d = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    let exif = d.exif_metadata().unwrap();
    let xmp = d.xmp_metadata().unwrap();
    (d.orientation().unwrap(), exif, xmp)
}

// ---------------------------------------------------------------- JPEG

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

fn prefixed(prefix: &[u8], body: &[u8]) -> Vec<u8> {
    [prefix, body].concat()
}

/// The JPEG with `segments` inserted after its APP0 JFIF.
fn splice_jpeg(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    assert_eq!(&jpeg[2..4], &[0xFF, 0xE0], "the encoder writes APP0 first");
    let at = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    [&jpeg[..at], &segments.concat(), &jpeg[at..]].concat()
}

fn icc_segment() -> Vec<u8> {
    segment(0xE2, b"ICC_PROFILE\0\x01\x01not a real profile, kept as is")
}

/// A phone photo: EXIF with GPS, XMP, Photoshop/IPTC, an MPF index, an ICC
/// profile, a comment, and a second image after EOI with its own EXIF.
fn phone_jpeg(orientation: u16) -> (Vec<u8>, Vec<u8>) {
    let original = encode_jpeg(&picture());
    let exif = segment(0xE1, &prefixed(EXIF_ID, &phone_exif(orientation)));
    let with = splice_jpeg(
        &original,
        &[
            exif.clone(),
            segment(0xE1, &prefixed(b"http://ns.adobe.com/xap/1.0/\0", XMP)),
            segment(
                0xED,
                &prefixed(b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0b", OWNER),
            ),
            segment(0xE2, b"MPF\0II*\0\x08\0\0\0"),
            icc_segment(),
            segment(0xFE, b"shot from my balcony"),
        ],
    );
    let second = splice_jpeg(&original, &[exif]);
    ([with, second].concat(), original)
}

#[test]
fn jpeg_metadata_goes_the_pixels_and_orientation_stay() {
    let (photo, original) = phone_jpeg(6);
    let out = strip_metadata(&photo).unwrap();
    assert_clean(&out);
    let minimal = segment(0xE1, &prefixed(EXIF_ID, &minimal_exif(6)));
    assert_eq!(
        out,
        splice_jpeg(&original, &[minimal, icc_segment()]),
        "only the orientation and the ICC profile are added to the encoded image"
    );
    assert_eq!(decoded(&out), decoded(&original));
    let (orientation, exif, xmp) = found(&out);
    assert_eq!(orientation, Orientation::Rotate90);
    assert_eq!(exif, Some(minimal_exif(6)));
    assert_eq!(xmp, None);
    assert_eq!(
        strip_metadata(&out).unwrap(),
        out,
        "stripping twice changes nothing"
    );
}

#[test]
fn jpeg_upright_or_unreadable_orientation_leaves_no_exif() {
    let original = encode_jpeg(&picture());
    assert_eq!(
        strip_metadata(&original).unwrap(),
        original,
        "nothing to strip"
    );
    let upright = splice_jpeg(
        &original,
        &[segment(0xE1, &prefixed(EXIF_ID, &phone_exif(1)))],
    );
    let garbage = splice_jpeg(&original, &[segment(0xE1, b"Exif\0\0II\x2a\0\xff\xff")]);
    let out_of_range = splice_jpeg(
        &original,
        &[segment(0xE1, &prefixed(EXIF_ID, &phone_exif(9)))],
    );
    for photo in [upright, garbage, out_of_range] {
        let out = strip_metadata(&photo).unwrap();
        assert_eq!(out, original);
        assert_eq!(found(&out), (Orientation::NoTransforms, None, None));
    }
}

#[test]
fn jpeg_big_endian_exif_orientation_is_read() {
    let original = encode_jpeg(&picture());
    // big-endian IFD0 with one unrelated entry before the orientation
    let mut be = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
    be.extend_from_slice(&[0x01, 0x0F, 0, 2, 0, 0, 0, 3, b'A', b'B', 0, 0]);
    be.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0]);
    be.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(exif_orientation(&be), Some(8));
    let out = strip_metadata(&splice_jpeg(
        &original,
        &[segment(0xE1, &prefixed(EXIF_ID, &be))],
    ))
    .unwrap();
    assert_eq!(found(&out).0, Orientation::Rotate270);
}

#[test]
fn jfif_thumbnail_is_dropped() {
    let original = encode_jpeg(&picture());
    let app0_len = usize::from(u16::from_be_bytes([original[4], original[5]]));
    assert_eq!(app0_len, 16, "the encoder writes no thumbnail");
    let mut payload = original[6..6 + 12].to_vec();
    payload.extend_from_slice(&[2, 1, 1, 2, 3, 4, 5, 6]); // a 2×1 RGB thumbnail
    let with_thumb = [
        &original[..2],
        &segment(0xE0, &payload),
        &original[4 + 16..],
    ]
    .concat();
    assert_eq!(strip_metadata(&with_thumb).unwrap(), original);
}

#[test]
fn jpeg_scans_are_copied_through_stuffing_restarts_and_between_scans() {
    let sof2 = segment(0xC2, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
    let dht = segment(
        0xC4,
        &[0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05],
    );
    let sos = segment(0xDA, &[1, 1, 0, 0, 63, 0]);
    // stuffed 0xFF00, a restart marker, fill bytes before the next marker
    let scan1: &[u8] = &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF];
    let scan2: &[u8] = &[0xAB, 0xFF, 0x00, 0xCD];
    let photo = [
        &[0xFF, 0xD8][..],
        &segment(0xFE, b"shot from my balcony"),
        &sof2,
        &dht,
        &sos,
        scan1,
        &dht,
        &segment(0xE1, &prefixed(b"http://ns.adobe.com/xap/1.0/\0", XMP)),
        &sos,
        scan2,
        &[0xFF, 0xD9],
        b"trailing data with GPSLatitude",
    ]
    .concat();
    let expected = [
        &[0xFF, 0xD8][..],
        &sof2,
        &dht,
        &sos,
        scan1,
        &dht,
        &sos,
        scan2,
        &[0xFF, 0xD9],
    ]
    .concat();
    assert_eq!(strip_metadata(&photo).unwrap(), expected);
}

#[test]
fn malformed_jpegs_are_refused() {
    let sof = segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
    let sos = segment(0xDA, &[1, 1, 0, 0, 63, 0]);
    let soi: &[u8] = &[0xFF, 0xD8];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xFF, 0xD8, 0xFF], "JPEG: truncated (no end of image)"),
        (
            [soi, &[0xFF, 0xE1, 0, 1]].concat(),
            "JPEG: segment length too small",
        ),
        (
            [soi, &[0xFF, 0xE1, 0x40, 0, b'E', b'x']].concat(),
            "JPEG: truncated segment",
        ),
        ([soi, &[0xFF, 0xE1, 0]].concat(), "JPEG: truncated segment"),
        (
            [soi, &sos, &[1, 2, 0xFF, 0xD9]].concat(),
            "JPEG: scan before the frame header",
        ),
        (
            [soi, &sof, &[0xFF, 0xD9]].concat(),
            "JPEG: end of image before any scan",
        ),
        (
            [soi, &sof, &sos, &[1, 2, 3]].concat(),
            "JPEG: truncated scan (no end of image)",
        ),
        (
            [soi, &sof, &sos, &[1, 2, 0xFF]].concat(),
            "JPEG: truncated scan (no end of image)",
        ),
        (
            [soi, &sof, &[0x12, 0x34]].concat(),
            "JPEG: expected a marker",
        ),
        ([soi, &[0xFF, 0x00]].concat(), "JPEG: unexpected marker"),
        ([soi, &[0xFF, 0xD8]].concat(), "JPEG: unexpected marker"),
    ];
    for (data, reason) in cases {
        assert_eq!(strip_metadata(&data), Err(Malformed(reason)), "{data:02x?}");
    }
}

// ---------------------------------------------------------------- PNG

fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = (body.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(body);
    let crc = crc32fast::hash(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

/// The PNG with `chunks` inserted after IHDR.
fn splice_png(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    assert_eq!(&png[12..16], b"IHDR");
    let at = 8 + 12 + 13;
    [&png[..at], &chunks.concat(), &png[at..]].concat()
}

/// The chunks of a PNG, each checked against its CRC.
fn png_chunks(png: &[u8]) -> Vec<String> {
    let mut i = 8;
    let mut kinds = Vec::new();
    while i < png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        let end = i + 12 + len;
        let crc = u32::from_be_bytes(png[end - 4..end].try_into().unwrap());
        assert_eq!(crc32fast::hash(&png[i + 4..end - 4]), crc, "CRC at {i}");
        kinds.push(String::from_utf8_lossy(&png[i + 4..i + 8]).into_owned());
        i = end;
    }
    kinds
}

fn phone_png(orientation: u16) -> (Vec<u8>, Vec<u8>) {
    let original = encode_png(&picture());
    let with = splice_png(
        &original,
        &[
            chunk(b"gAMA", &45455u32.to_be_bytes()),
            chunk(b"tEXt", &prefixed(b"Author\0", ARTIST)),
            chunk(b"zTXt", &prefixed(b"Comment\0\0", b"shot from my balcony")),
            chunk(b"iTXt", &prefixed(b"XML:com.adobe.xmp\0\0\0\0\0", XMP)),
            chunk(b"tIME", &[0x07, 0xE9, 5, 17, 8, 30, 0]),
            chunk(b"eXIf", &phone_exif(orientation)),
            chunk(b"caBX", &prefixed(b"c2pa manifest by ", OWNER)),
        ],
    );
    (with, original)
}

#[test]
fn png_text_time_exif_and_private_chunks_go_the_pixels_and_orientation_stay() {
    let (photo, original) = phone_png(8);
    let out = strip_metadata(&[&photo[..], b"trailing Zhang San"].concat()).unwrap();
    assert_clean(&out);
    assert_eq!(
        out,
        splice_png(
            &original,
            &[
                chunk(b"gAMA", &45455u32.to_be_bytes()),
                chunk(b"eXIf", &minimal_exif(8)),
            ]
        )
    );
    let kinds = png_chunks(&out);
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    assert_eq!(decoded(&out), decoded(&original));
    let (orientation, exif, xmp) = found(&out);
    assert_eq!(orientation, Orientation::Rotate270);
    assert_eq!(exif, Some(minimal_exif(8)));
    assert_eq!(xmp, None);
    assert_eq!(strip_metadata(&out).unwrap(), out);

    let (upright, _) = phone_png(1);
    let out = strip_metadata(&upright).unwrap();
    assert_eq!(
        out,
        splice_png(&original, &[chunk(b"gAMA", &45455u32.to_be_bytes())]),
        "no eXIf is left"
    );
    assert_eq!(
        strip_metadata(&original).unwrap(),
        original,
        "nothing to strip"
    );
}

#[test]
fn malformed_pngs_are_refused() {
    let original = encode_png(&picture());
    let n = original.len();
    let mut bad_crc = original.clone();
    bad_crc[8 + 8 + 4] ^= 1; // IHDR's width
    let mut bad_kind = original.clone();
    bad_kind[8 + 4] = b'1';
    let mut huge = original.clone();
    huge[8..12].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    let mut past_end = original.clone();
    past_end[8..12].copy_from_slice(&0x0010_0000u32.to_be_bytes());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            original[..n - 12].to_vec(),
            "PNG: truncated (no IEND chunk)",
        ),
        (original[..n - 1].to_vec(), "PNG: truncated chunk"),
        (bad_crc, "PNG: chunk checksum mismatch"),
        (bad_kind, "PNG: invalid chunk type"),
        (huge, "PNG: chunk length too large"),
        (past_end, "PNG: truncated chunk"),
        (
            [&original[..8], &chunk(b"gAMA", &[0; 4]), &original[8..]].concat(),
            "PNG: the first chunk is not IHDR",
        ),
    ];
    for (data, reason) in cases {
        assert_eq!(strip_metadata(&data), Err(Malformed(reason)));
    }
}

// ---------------------------------------------------------------- WebP

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body = chunks.concat();
    [
        &b"RIFF"[..],
        &((body.len() + 4) as u32).to_le_bytes(),
        b"WEBP",
        &body,
    ]
    .concat()
}

fn riff_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    webp_chunk(&mut out, kind, body);
    out
}

fn vp8x(flags: u8, p: &RgbImage) -> Vec<u8> {
    let mut body = vec![flags, 0, 0, 0];
    body.extend_from_slice(&(p.width() - 1).to_le_bytes()[..3]);
    body.extend_from_slice(&(p.height() - 1).to_le_bytes()[..3]);
    riff_chunk(b"VP8X", &body)
}

/// An extended WebP with EXIF (GPS), XMP and an unknown chunk, and the
/// simple WebP it was made from.
fn phone_webp(exif: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = picture();
    let simple = encode_webp(&p);
    assert_eq!(&simple[12..16], b"VP8L");
    let image = simple[12..].to_vec();
    let with = riff(&[
        vp8x(VP8X_EXIF | VP8X_XMP, &p),
        image,
        riff_chunk(b"EXIF", exif),
        riff_chunk(b"XMP ", &prefixed(XMP, b"!")), // odd: padded
        riff_chunk(b"ZZZZ", &prefixed(b"private ", SERIAL)),
    ]);
    (with, simple)
}

#[test]
fn webp_exif_xmp_and_unknown_chunks_go_flags_and_size_follow() {
    let p = picture();
    let (photo, simple) = phone_webp(&phone_exif(3));
    let out = strip_metadata(&[&photo[..], b"trailing Zhang San"].concat()).unwrap();
    assert_clean(&out);
    let expected = riff(&[
        vp8x(VP8X_EXIF, &p),
        simple[12..].to_vec(),
        riff_chunk(b"EXIF", &minimal_exif(3)),
    ]);
    assert_eq!(out, expected);
    assert_eq!(
        u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize,
        out.len() - 8
    );
    assert_eq!(decoded(&out), decoded(&simple));
    let (orientation, exif, xmp) = found(&out);
    assert_eq!(orientation, Orientation::Rotate180);
    assert_eq!(exif, Some(minimal_exif(3)));
    assert_eq!(xmp, None);
    assert_eq!(strip_metadata(&out).unwrap(), out);

    // "Exif\0\0" before the TIFF, as some writers do, is read too
    let (prefixed_exif, _) = phone_webp(&prefixed(EXIF_ID, &phone_exif(3)));
    assert_eq!(strip_metadata(&prefixed_exif).unwrap(), expected);

    // upright: no EXIF chunk and no EXIF flag are left
    let (upright, _) = phone_webp(&phone_exif(1));
    let out = strip_metadata(&upright).unwrap();
    assert_eq!(out, riff(&[vp8x(0, &p), simple[12..].to_vec()]));
    assert_eq!(decoded(&out), decoded(&simple));
    assert_eq!(found(&out), (Orientation::NoTransforms, None, None));

    // a simple file passes unchanged
    assert_eq!(strip_metadata(&simple).unwrap(), simple);
}

#[test]
fn malformed_webps_are_refused() {
    let (photo, simple) = phone_webp(&phone_exif(3));
    let mut longer = simple.clone();
    let size = u32::from_le_bytes(longer[4..8].try_into().unwrap()) + 2;
    longer[4..8].copy_from_slice(&size.to_le_bytes());
    let mut chunk_past = simple.clone();
    chunk_past[16..20].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            photo[..photo.len() - 1].to_vec(),
            "WebP: truncated (shorter than its RIFF size)",
        ),
        (longer, "WebP: truncated (shorter than its RIFF size)"),
        (chunk_past, "WebP: truncated chunk"),
        (b"RIFF\x02\0\0\0WEBP".to_vec(), "WebP: RIFF size too small"),
        (b"RIFF\x04\0\0\0WEBP".to_vec(), "WebP: no image chunk"),
        (
            b"RIFF\x07\0\0\0WEBPVP8".to_vec(),
            "WebP: truncated chunk header",
        ),
        (
            riff(&[riff_chunk(b"EXIF", &phone_exif(3))]),
            "WebP: the first chunk is not VP8, VP8L or VP8X",
        ),
        (
            riff(&[riff_chunk(b"VP8X", &[0; 4]), simple[12..].to_vec()]),
            "WebP: VP8X chunk too short",
        ),
        // an odd chunk without its padding byte
        (
            riff(&[riff_chunk(b"VP8L", b"abc")[..11].to_vec()]),
            "WebP: truncated chunk",
        ),
    ];
    for (data, reason) in cases {
        assert_eq!(strip_metadata(&data), Err(Malformed(reason)));
    }
}

// ---------------------------------------------------------------- any

#[test]
fn other_data_is_refused() {
    for data in [&b""[..], b"GIF89a......", b"<svg/>", &[0xFF, 0xD8]] {
        assert_eq!(
            strip_metadata(data),
            Err(Malformed("not a JPEG, PNG or WebP image"))
        );
    }
}

/// Well-formed photos with metadata, nothing after their end.
fn samples() -> Vec<Vec<u8>> {
    let (jpeg, original) = phone_jpeg(6);
    // without the second image after the first one's EOI
    let second = original.len() + segment(0xE1, &prefixed(EXIF_ID, &phone_exif(6))).len();
    vec![
        jpeg[..jpeg.len() - second].to_vec(),
        phone_png(8).0,
        phone_webp(&phone_exif(3)).0,
    ]
}

#[test]
fn every_truncation_is_refused() {
    for sample in samples() {
        assert!(strip_metadata(&sample).is_ok());
        for n in 0..sample.len() {
            assert!(
                strip_metadata(&sample[..n]).is_err(),
                "a {}-byte prefix of {} bytes was accepted",
                n,
                sample.len()
            );
        }
    }
}

#[test]
fn corrupted_photos_never_panic_and_what_passes_is_stable() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EC0_0E71);
    let samples = samples();
    let mut accepted = 0;
    for _ in 0..3000 {
        let mut data = samples[rng.gen_range(0..samples.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..data.len());
            data[at] = match rng.gen_range(0..3) {
                0 => 0xFF,
                1 => 0x00,
                _ => rng.gen(),
            };
        }
        if rng.gen_bool(0.2) {
            let cut = rng.gen_range(0..data.len());
            data.truncate(cut);
        }
        if let Ok(out) = strip_metadata(&data) {
            accepted += 1;
            assert_eq!(strip_metadata(&out).as_ref(), Ok(&out));
        }
    }
    assert!(
        accepted > 0,
        "some corruptions (in pixel data) are accepted"
    );
}
