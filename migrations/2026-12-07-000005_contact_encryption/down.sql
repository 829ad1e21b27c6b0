-- Rows sealed since the up migration keep no plaintext: going down loses
-- their contact phone and email.
ALTER TABLE merchants DROP COLUMN contact_phone_ciphertext;
ALTER TABLE merchant_applications
    DROP CONSTRAINT merchant_applications_contact_kept,
    DROP COLUMN contact_email_ciphertext,
    DROP COLUMN contact_phone_ciphertext;
