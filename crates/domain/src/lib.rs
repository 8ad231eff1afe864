//! suqiu's domain core. Pure: no IO, no async, no clock, no SQL, no HTTP.
//!
//! - [`org`]: the unit tree, people and roles (DOMAIN.md §1)
//! - [`case`]: channels (§2), the event journal, decide/apply
//! - [`workflow`]: the six orders: commands, decide, deadline rules, sweeper, notifications
//! - [`hours`]: units' office hours and where a same-day count starts
//! - [`validate`]: parsing of personal data (phone, GB 11643 ID number) and masking (§10)

pub mod case;
pub mod hours;
pub mod org;
pub mod validate;
pub mod workflow;

pub use case::{Actor, CaseState, Channel, Event, Millis, Status};
pub use org::{Level, OrgTree, Person, Role, Unit};
pub use validate::{FieldError, FieldErrorKind};
