-- The notifications table is the outbox: each row is written in the same
-- transaction as the event that caused it; a sender claims due rows for a
-- while (a lease), delivers them with an idempotency key per row, and records
-- the outcome: sent, a retry later, or dead after too many failures.
ALTER TABLE notifications ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN channel TEXT;
ALTER TABLE notifications ADD COLUMN last_error TEXT;
ALTER TABLE notifications ADD COLUMN sent_at INTEGER;
DROP INDEX notifications_pending;
CREATE INDEX notifications_due ON notifications (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX notifications_status ON notifications (status, id);
