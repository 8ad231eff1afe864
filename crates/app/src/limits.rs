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
}

impl Limits {
    /// No limits (benchmarks, trusted networks).
    pub const UNLIMITED: Limits = Limits {
        intake_per_address_per_day: u32::MAX,
        intake_per_phone_per_day: u32::MAX,
        track_per_address_per_minute: u32::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            intake_per_address_per_day: 200,
            intake_per_phone_per_day: 10,
            track_per_address_per_minute: 120,
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
}

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

    /// Checks the tracking lookup limit.
    pub fn check_track_limit(&self, ip: Option<IpAddr>) -> Result<()> {
        let l = self.limits().track_per_address_per_minute;
        match ip {
            Some(ip)
                if !self
                    .counters()
                    .hit("track", ip.to_string(), 60_000, self.now(), l) =>
            {
                Err(AppError::RateLimited)
            }
            _ => Ok(()),
        }
    }
}
