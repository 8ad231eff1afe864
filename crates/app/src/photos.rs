//! Photos of a case: attached by the resident when filing (or later with the
//! tracking code) and by staff who may see the case; served only to those.
//! The type is read from the bytes (JPEG, PNG, WebP signatures), never from a
//! file name or a declared type. Metadata (EXIF with the GPS position, camera
//! serial and owner; XMP; text chunks) is stripped before anything is stored,
//! hashed or counted ([`crate::photo_meta`]); a photo whose structure is broken
//! is refused. Each attachment is a `photo_attached` event in the case
//! journal, written with the bytes and an audit record in one transaction;
//! retention deletes the bytes with the case's personal data.

use crate::cases::WriteTarget;
use crate::photo_meta::strip_metadata;
use crate::{normalise_tracking_code, App, AppError, CaseView, Result, StaffUser};
use suqiu_domain::case::IntakeInput;
use suqiu_domain::case::{self, Actor, Event, Millis, Status};
use suqiu_store::{CaseRef, CaseWrite, NewPhoto, PhotoMeta, PhotoRow, StoreError};

/// Largest photo accepted (bytes).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// Most photos per case.
pub const MAX_PHOTOS: u32 = 6;
/// Most bytes of photos per case.
pub const MAX_CASE_PHOTO_BYTES: u64 = 20 * 1024 * 1024;

/// The image type of `data` by its signature: JPEG, PNG or WebP.
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Who attaches or looks: a staff member, or the resident with the tracking code.
#[derive(Clone, Copy)]
pub enum PhotoAccess<'a> {
    Staff(&'a StaffUser),
    Code(&'a str),
}

/// A photo as it is stored: its bytes without metadata and its type.
type Stored = (Vec<u8>, &'static str);

/// Checks new photos against the limits, given what the case has already,
/// and strips their metadata ([`strip_metadata`]): the size of one photo is
/// checked as received, the case's total as stored.
fn check_photos(count: u32, bytes: u64, new: &[Vec<u8>]) -> Result<Vec<Stored>> {
    if count as usize + new.len() > MAX_PHOTOS as usize {
        return Err(AppError::TooManyPhotos(MAX_PHOTOS));
    }
    if new.iter().any(|data| data.len() > MAX_PHOTO_BYTES) {
        return Err(AppError::PhotoTooLarge(MAX_PHOTO_BYTES));
    }
    let types = new
        .iter()
        .map(|data| sniff(data).ok_or(AppError::PhotoType))
        .collect::<Result<Vec<_>>>()?;
    let mut total = bytes;
    let mut stored = Vec::with_capacity(new.len());
    for (data, ct) in new.iter().zip(types) {
        let data = strip_metadata(data).map_err(|e| AppError::PhotoMalformed(e.0))?;
        let dims =
            crate::photo_meta::dimensions(&data).map_err(|e| AppError::PhotoMalformed(e.0))?;
        if !crate::photo_meta::dimensions_ok(dims) {
            return Err(AppError::PhotoDimensions(dims.0, dims.1));
        }
        total += data.len() as u64;
        stored.push((data, ct));
    }
    if total > MAX_CASE_PHOTO_BYTES {
        return Err(AppError::PhotosTooLarge(MAX_CASE_PHOTO_BYTES));
    }
    Ok(stored)
}

/// Photos already attached to a case, from its journal: (count, bytes).
fn attached(view: &CaseView) -> (u32, u64) {
    view.events
        .iter()
        .filter_map(|e| match &e.event {
            Event::PhotoAttached { bytes, .. } => Some(*bytes),
            _ => None,
        })
        .fold((0, 0), |(n, b), x| (n + 1, b + x))
}

/// Adds `photo_attached` events (numbered from `first`) and the bytes to a write.
fn add_photos(
    w: &mut CaseWrite,
    actor: &Actor,
    first: u32,
    photos: Vec<Stored>,
    now: Millis,
) -> Vec<Event> {
    use sha2::{Digest, Sha256};
    let mut events = Vec::new();
    for (i, (data, ct)) in photos.into_iter().enumerate() {
        let n = first + i as u32;
        let e = Event::PhotoAttached {
            photo: n,
            content_type: ct.to_string(),
            bytes: data.len() as u64,
        };
        w.events.push((now, actor.clone(), e.clone()));
        w.photos.push(NewPhoto {
            n,
            content_type: ct.to_string(),
            sha256: hex::encode(Sha256::digest(&data)),
            data,
        });
        events.push(e);
    }
    w.row.version += events.len() as u64;
    events
}

impl App {
    /// Files a case with photos (all checked first; nothing is stored when
    /// one is refused): the intake and the photos are one transaction.
    pub async fn file_case_with_photos(
        &self,
        input: &IntakeInput,
        staff: Option<&StaffUser>,
        photos: Vec<Vec<u8>>,
    ) -> Result<CaseRef> {
        let photos = check_photos(0, 0, &photos)?;
        let mut attempts = 0;
        loop {
            let mut write = self.intake_write(input, staff)?;
            let actor = write.events[0].1.clone();
            let now = write.events[0].0;
            let n = add_photos(&mut write, &actor, 1, photos.clone(), now).len();
            if let Some(a) = write.audit.as_mut() {
                a.detail = serde_json::json!({ "photos": n }).to_string();
            }
            let intake = crate::cases::received_intake(&write);
            match self.store().write_case(write).await {
                Err(StoreError::DuplicateTrackingCode) if attempts < 5 => attempts += 1,
                Ok(r) => {
                    self.intake_done(r.id, intake).await;
                    return Ok(r);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The case a photo request is about, if the caller may see it: staff
    /// by id, the resident by tracking code (and the id, when given, must be
    /// that case's).
    async fn photo_case(&self, by: PhotoAccess<'_>, id: Option<i64>) -> Result<CaseView> {
        match by {
            PhotoAccess::Staff(u) => {
                self.visible_case(u, id.ok_or(AppError::CaseNotFound)?)
                    .await
            }
            PhotoAccess::Code(raw) => {
                let code = normalise_tracking_code(raw).ok_or(AppError::CaseNotFound)?;
                let row = self
                    .store()
                    .case_by_tracking_code(&code)
                    .await?
                    .ok_or(AppError::CaseNotFound)?;
                if id.is_some_and(|id| id != row.id) {
                    return Err(AppError::CaseNotFound);
                }
                self.load(row.id).await
            }
        }
    }

    /// Attaches one photo to an open case; returns its number.
    pub async fn attach_photo(
        &self,
        by: PhotoAccess<'_>,
        id: Option<i64>,
        data: Vec<u8>,
    ) -> Result<u32> {
        let view = self.photo_case(by, id).await?;
        if view.state.status == Status::Closed {
            return Err(AppError::CaseClosed);
        }
        let (count, bytes) = attached(&view);
        let photos = check_photos(count, bytes, std::slice::from_ref(&data))?;
        let content_type = photos[0].1;
        let actor = match by {
            PhotoAccess::Staff(u) => u.actor(),
            PhotoAccess::Code(_) => Actor::Resident,
        };
        let now = self.now();
        let version = view.state.version;
        let target = WriteTarget {
            case_id: Some(view.row.id),
            version,
            code: &view.row.tracking_code,
            place_path: &view.row.place_path,
        };
        let mut write = self.case_write(target, &actor, &[], &view.state, now);
        let events = add_photos(&mut write, &actor, count + 1, photos, now);
        // the projection after the event (only the version and time change)
        let mut state = view.state.clone();
        for e in &events {
            state =
                case::apply(Some(state), e, now).map_err(|e| AppError::Journal(e.to_string()))?;
        }
        write.row.updated_at = state.updated_at;
        write.before = Some(self.stored(&view.state));
        write.audit = Some(suqiu_store::AuditEntry {
            at: now,
            actor: match &actor {
                Actor::Staff { login, .. } => login.clone(),
                _ => "resident".into(),
            },
            action: "case.photo".into(),
            target: String::new(),
            reason: String::new(),
            detail: serde_json::json!({"photo": count + 1, "content_type": content_type})
                .to_string(),
        });
        self.store().write_case(write).await?;
        Ok(count + 1)
    }

    /// One photo of a case the caller may see.
    pub async fn photo(&self, by: PhotoAccess<'_>, id: Option<i64>, n: u32) -> Result<PhotoRow> {
        let view = self.photo_case(by, id).await?;
        self.store()
            .photo(view.row.id, n)
            .await?
            .ok_or(AppError::PhotoNotFound)
    }

    /// The photos of a case the caller may see (no bytes).
    pub async fn photos(&self, by: PhotoAccess<'_>, id: Option<i64>) -> Result<Vec<PhotoMeta>> {
        let view = self.photo_case(by, id).await?;
        Ok(self.store().photos(view.row.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_from_the_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a......"), None);
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(&[]), None);
    }

    /// A structurally valid JPEG of `n` bytes: a frame, a scan of filler, the end.
    fn jpeg(n: usize) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        v.resize(n - 2, 0x11);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    /// The JPEG with a comment segment of `n` bytes (stripped) after SOI.
    fn with_comment(jpeg: &[u8], n: usize) -> Vec<u8> {
        let mut v = jpeg[..2].to_vec();
        v.extend_from_slice(&[0xFF, 0xFE]);
        v.extend_from_slice(&((n - 2) as u16).to_be_bytes());
        v.resize(v.len() + n - 4, b'c');
        v.extend_from_slice(&jpeg[2..]);
        v
    }

    #[test]
    fn limits() {
        assert_eq!(
            check_photos(0, 0, &[jpeg(100)]).unwrap(),
            vec![(jpeg(100), "image/jpeg")]
        );
        assert!(matches!(
            check_photos(0, 0, &[jpeg(MAX_PHOTO_BYTES + 1)]),
            Err(AppError::PhotoTooLarge(_))
        ));
        assert!(matches!(
            check_photos(MAX_PHOTOS, 0, &[jpeg(30)]),
            Err(AppError::TooManyPhotos(_))
        ));
        assert!(matches!(
            check_photos(1, MAX_CASE_PHOTO_BYTES - 5, &[jpeg(30)]),
            Err(AppError::PhotosTooLarge(_))
        ));
        assert!(matches!(
            check_photos(0, 0, &[b"not an image".to_vec()]),
            Err(AppError::PhotoType)
        ));
        assert!(matches!(
            check_photos(0, 0, &[jpeg(100)[..60].to_vec()]),
            Err(AppError::PhotoMalformed(
                "JPEG: truncated scan (no end of image)"
            ))
        ));
    }

    #[test]
    fn what_is_stored_and_counted_is_the_stripped_photo() {
        let plain = jpeg(100);
        let commented = with_comment(&plain, 1000);
        assert_eq!(commented.len(), 1100);
        let stored = check_photos(0, 0, std::slice::from_ref(&commented)).unwrap();
        assert_eq!(stored, vec![(plain, "image/jpeg")]);
        // the case's total counts the 100 stored bytes, not the 1100 received
        assert!(check_photos(
            1,
            MAX_CASE_PHOTO_BYTES - 100,
            std::slice::from_ref(&commented)
        )
        .is_ok());
        assert!(matches!(
            check_photos(1, MAX_CASE_PHOTO_BYTES - 99, &[commented]),
            Err(AppError::PhotosTooLarge(_))
        ));
    }
}
