//! placeholder
pub struct Signal;
pub struct SignalRule;
pub struct UrgentRules;
