//! Ledger import and export.
