-- Login throttling per address as well as per account: a failed login records
-- the client address ('' when unknown), so an attacker's address is slowed
-- without locking the account's owner out from theirs.
ALTER TABLE login_failures ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_address ON login_failures (address, at);
