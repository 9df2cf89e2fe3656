-- schema version 12: a service principal's role (a gateway or a provisioner), and for a gateway
-- which header of a gate check names its user (JSON; NULL: the default).
ALTER TABLE service_principals ADD COLUMN role TEXT NOT NULL DEFAULT 'gateway';
ALTER TABLE service_principals ADD COLUMN identity TEXT;
