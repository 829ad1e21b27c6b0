-- Applicants' contact phone and email, and merchants' contact phone, are kept
-- encrypted like members' numbers (see merchant::contact). The key lives in
-- the application, not in SQL: the plaintext columns become nullable, new rows
-- leave them empty, and the server's start-up step seals the rows written
-- before this migration and empties their plaintext.
ALTER TABLE merchant_applications
    ADD COLUMN contact_phone_ciphertext bytea,
    ADD COLUMN contact_email_ciphertext bytea,
    ALTER COLUMN contact_phone DROP NOT NULL,
    ALTER COLUMN contact_email DROP NOT NULL,
    ADD CONSTRAINT merchant_applications_contact_kept CHECK (
        (contact_phone IS NOT NULL OR contact_phone_ciphertext IS NOT NULL)
        AND (contact_email IS NOT NULL OR contact_email_ciphertext IS NOT NULL)
    );

ALTER TABLE merchants ADD COLUMN contact_phone_ciphertext bytea;
