import type { Knex } from 'knex';


// A number on the do-not-call list is also kept as the sha256 hex of its E.164 text, so that an
// erased person's number stays blocked once the number itself is gone (phone_number NULL). The
// hash is the key; a trigger fills it for every writer, as dnc.ts's phoneHash computes it.

export const up = async (knex: Knex) => {

    await knex.raw(`ALTER TABLE dnc_numbers ADD COLUMN phone_hash text`);
    await knex.raw(`UPDATE dnc_numbers SET phone_hash = encode(sha256(convert_to(phone_number, 'UTF8')), 'hex')`);
    await knex.raw(`
        ALTER TABLE dnc_numbers ALTER COLUMN phone_hash SET NOT NULL;
        ALTER TABLE dnc_numbers DROP CONSTRAINT dnc_numbers_pkey;
        ALTER TABLE dnc_numbers ALTER COLUMN phone_number DROP NOT NULL;
        ALTER TABLE dnc_numbers ADD PRIMARY KEY (tenant_id, phone_hash);
        CREATE UNIQUE INDEX dnc_numbers_tenant_phone ON dnc_numbers (tenant_id, phone_number);
    `);

    await knex.raw(`
        CREATE FUNCTION dnc_numbers_hash() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.phone_number IS NOT NULL THEN
                NEW.phone_hash := encode(sha256(convert_to(NEW.phone_number, 'UTF8')), 'hex');
            END IF;
            RETURN NEW;
        END $$;

        CREATE TRIGGER dnc_numbers_hash BEFORE INSERT OR UPDATE OF phone_number ON dnc_numbers FOR EACH ROW EXECUTE FUNCTION dnc_numbers_hash();
    `);
};


// Rows whose number was erased cannot go back under the old key

export const down = async (knex: Knex) => {

    await knex.raw(`
        DROP TRIGGER dnc_numbers_hash ON dnc_numbers;
        DROP FUNCTION dnc_numbers_hash();
        DELETE FROM dnc_numbers WHERE phone_number IS NULL;
        ALTER TABLE dnc_numbers DROP CONSTRAINT dnc_numbers_pkey;
        DROP INDEX dnc_numbers_tenant_phone;
        ALTER TABLE dnc_numbers ALTER COLUMN phone_number SET NOT NULL;
        ALTER TABLE dnc_numbers ADD PRIMARY KEY (tenant_id, phone_number);
        ALTER TABLE dnc_numbers DROP COLUMN phone_hash;
    `);
};
