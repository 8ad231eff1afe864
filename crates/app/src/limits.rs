//! Abuse limits on the public endpoints (residents need no login): intake per
//! address and per phone number per day, tracking lookups per address per
//! minute. Counters are fixed windows in this instance's memory (several
//! instances each apply the limit; a restart resets them).

use crate::{App, AppError, Result};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use suqiu_domain::case::Millis;

/// Configurable limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub intake_per_address_per_day: u32,
    pub intake_per_phone_per_day: u32,
    pub track_per_address_per_minute: u32,
    /// Tracking codes that matched nothing (or writes whose phone digits did
    /// not match) per address per hour; past it every tracking route
    /// refuses that address until the hour is over.
    pub track_misses_per_address_per_hour: u32,
}

impl Limits {
    /// No limits (benchmarks, trusted networks).
    pub const UNLIMITED: Limits = Limits {
        intake_per_address_per_day: u32::MAX,
        intake_per_phone_per_day: u32::MAX,
        track_per_address_per_minute: u32::MAX,
        track_misses_per_address_per_hour: u32::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            intake_per_address_per_day: 200,
            intake_per_phone_per_day: 10,
            track_per_address_per_minute: 120,
            track_misses_per_address_per_hour: 30,
        }
    }
}

/// (what is counted, whose: an address or a phone number) → (window start, hits).
type Windows = HashMap<(&'static str, String), (Millis, u32)>;

/// Fixed-window counters.
#[derive(Default)]
pub struct Counters {
    map: Mutex<Windows>,
}

impl Counters {
    /// Counts one hit; false when the window's limit is already reached.
    fn hit(
        &self,
        what: &'static str,
        key: String,
        window: Millis,
        now: Millis,
        limit: u32,
    ) -> bool {
        if limit == u32::MAX {
            return true;
        }
        let Ok(mut m) = self.map.lock() else {
            return true;
        };
        if m.len() > 100_000 {
            m.retain(|_, (start, _)| now - *start < window);
        }
        let e = m.entry((what, key)).or_insert((now, 0));
        if now - e.0 >= window {
            *e = (now, 0);
        }
        if e.1 >= limit {
            return false;
        }
        e.1 += 1;
        true
    }

    /// Whether the window's limit is reached, without counting a hit.
    fn reached(
        &self,
        what: &'static str,
        key: String,
        window: Millis,
        now: Millis,
        limit: u32,
    ) -> bool {
        if limit == u32::MAX {
            return false;
        }
        let Ok(m) = self.map.lock() else {
            return false;
        };
        m.get(&(what, key))
            .is_some_and(|(start, hits)| now - *start < window && *hits >= limit)
    }
}

const HOUR: Millis = 3_600_000;

const DAY: Millis = 86_400_000;

impl App {
    /// Checks the public intake limits before a resident's case is filed.
    pub fn check_intake_limits(&self, ip: Option<IpAddr>, phone: Option<&str>) -> Result<()> {
        let now = self.now();
        let l = self.limits();
        if let Some(ip) = ip {
            if !self.counters().hit(
                "intake",
                ip.to_string(),
                DAY,
                now,
                l.intake_per_address_per_day,
            ) {
                return Err(AppError::RateLimited);
            }
        }
        if let Some(p) =
            phone.and_then(|p| suqiu_domain::validate::PhoneNumber::parse("phone", p).ok())
        {
            if !self.counters().hit(
                "phone",
                p.as_str().to_string(),
                DAY,
                now,
                l.intake_per_phone_per_day,
            ) {
                return Err(AppError::RateLimited);
            }
        }
        Ok(())
    }

    /// Checks the tracking lookup limits of an address: lookups per minute,
    /// and codes that matched nothing per hour.
    pub fn check_track_limit(&self, ip: Option<IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        let l = self.limits();
        let now = self.now();
        let c = self.counters();
        if c.reached(
            "track_miss",
            ip.to_string(),
            HOUR,
            now,
            l.track_misses_per_address_per_hour,
        ) || !c.hit(
            "track",
            ip.to_string(),
            60_000,
            now,
            l.track_per_address_per_minute,
        ) {
            return Err(AppError::RateLimited);
        }
        Ok(())
    }

    /// Runs a resident's request by tracking code under the tracking limits:
    /// refused when the address is over them, and a code that matches
    /// nothing (or phone digits that do not) counts against the address.
    /// Every tracking-code route, API and pages, goes through here.
    pub async fn by_tracking_code<T>(
        &self,
        ip: Option<IpAddr>,
        request: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.check_track_limit(ip)?;
        let r = request.await;
        if let (Some(ip), Err(AppError::CaseNotFound | AppError::TrackCheckFailed)) = (ip, &r) {
            let l = self.limits().track_misses_per_address_per_hour;
            // counted only: the refusal comes with the next request
            let _ = self
                .counters()
                .hit("track_miss", ip.to_string(), HOUR, self.now(), l);
        }
        r
    }
}
