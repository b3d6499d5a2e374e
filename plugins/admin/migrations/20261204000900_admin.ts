import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    // What admins did, one row per change, written in the change's own transaction. The email is
    // kept beside the id so the row still names its author once the user is gone.

    await knex.raw(`
        CREATE TABLE admin_audit (
            id bigserial PRIMARY KEY,
            admin_id uuid REFERENCES user_profiles (id) ON DELETE SET NULL,
            admin_email text NOT NULL,
            action text NOT NULL,
            target_type text NOT NULL,
            target_id text NOT NULL,
            details jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now()
        )
    `);

    await knex.raw('CREATE INDEX admin_audit_action ON admin_audit (action, id DESC)');
    await knex.raw('CREATE INDEX admin_audit_target ON admin_audit (target_id, id DESC)');
};


export const down = async (knex: Knex) => {

    await knex.schema.dropTable('admin_audit');
};
