//! Notification channels and chat-group callback crypto.
